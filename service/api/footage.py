"""Snapshots and clips from the footage on disk: GET .../snapshot.jpg[?t=] and .../clip.mp4?start=&end=."""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response

from config.errors import VigilError
from service.api.deps import Camera, Ctx
from service.api.errors import BadRequest
from service.api.metrics import CLIPS
from service.api.schemas import errors
from service.api.values import unix_seconds

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/cameras", tags=["footage"])
NOT_FOUND = errors(400, 404)
Seconds = Annotated[float, Query(description="Unix seconds")]


@router.get("/{camera_id}/snapshot.jpg", response_class=Response, responses=NOT_FOUND)
async def snapshot(ctx: Ctx, camera: Camera, t: Annotated[float | None, Query(description="Unix seconds; "
                   "omitted: the newest frame")] = None) -> Response:
    """The stored frame nearest to `t` (JPEG), or the newest one."""
    if t is not None:
        unix_seconds("t", t)
    jpeg = await asyncio.to_thread(ctx.footage.snapshot, camera.id, t)
    # A frame at a given time never changes; "the newest" changes every fraction of a second.
    cache = "private, max-age=3600" if t is not None else "no-store"
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": cache})


@router.get("/{camera_id}/clip.mp4", response_class=Response,
            responses=NOT_FOUND)
async def clip(ctx: Ctx, camera: Camera, start: Seconds, end: Seconds) -> Response:
    """H.264 MP4 of the retained footage between start and end (at most storage.max_clip_s long)."""
    check_clip_range(start, end, ctx.settings.storage.max_clip_s)
    try:
        mp4 = await asyncio.to_thread(ctx.footage.export_clip, camera.id, start, end)
    except VigilError:
        CLIPS.labels(camera_id=camera.id, outcome="refused").inc()
        raise
    CLIPS.labels(camera_id=camera.id, outcome="ok").inc()
    log.info("api.clip", camera_id=camera.id, start=start, end=end, size=len(mp4))
    name = f"{camera.id}-{int(start)}-{int(end)}.mp4"
    return Response(mp4, media_type="video/mp4", headers={"Content-Disposition": f'inline; filename="{name}"',
                                                           "Cache-Control": "private, max-age=3600"})


def check_clip_range(start: float, end: float, max_clip_s: float) -> None:
    unix_seconds("start", start)
    unix_seconds("end", end)
    if end <= start:
        raise BadRequest(f"clip range is inverted or empty: start {start:.3f} must be before end {end:.3f}")
    if end - start > max_clip_s:
        raise BadRequest(f"clip of {end - start:.1f} s is longer than storage.max_clip_s ({max_clip_s:g} s)")
