"""GET /api/cameras, /api/cameras/{id} and the rule scores behind the camera page's chart."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.camera_views import camera_view
from service.api.deps import Camera, Ctx
from service.api.schemas import CameraView, errors

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraView])
async def list_cameras(ctx: Ctx) -> list[CameraView]:
    """Every configured camera: state, sampled fps, engine lag and KV size, newest frame time."""
    return [camera_view(ctx, camera) for camera in ctx.settings.cameras]


@router.get("/{camera_id}", response_model=CameraView, responses=errors(404))
async def get_camera(ctx: Ctx, camera: Camera) -> CameraView:
    return camera_view(ctx, camera)


@router.get("/{camera_id}/scores", responses=errors(404))
async def rule_scores(ctx: Ctx, camera: Camera) -> dict[str, list[list[float]]]:
    """Recent [t_wall, score] pairs per rule of this camera, oldest first: the camera page's chart.

    Each pair is a two-number array (declared as a plain array of numbers: tuple schemas are JSON Schema 2020-12
    `prefixItems`, which OpenAPI clients and test generators handle poorly)."""
    return {rule_id: [[t, score] for t, score in points] for rule_id, points in ctx.rules.scores(camera.id).items()}
