"""What every route reads from the request: the service context and a camera id checked against the config."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from config.cameras import CameraSettings
from service.api.errors import NotFound
from service.context import ServiceContext


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(context)]


def known_camera(camera_id: str, ctx: Ctx) -> CameraSettings:
    """Ids come from the config only, so a crafted id ('..', '%2e%2e', 'a/b') never reaches a path on disk."""
    for camera in ctx.settings.cameras:
        if camera.id == camera_id:
            return camera
    raise NotFound(f"unknown camera {camera_id[:64]!r}; GET /api/cameras lists the configured ones")


Camera = Annotated[CameraSettings, Depends(known_camera)]
