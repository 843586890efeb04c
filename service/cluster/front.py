"""The cluster's one HTTP API and console: every camera with its node, per-camera requests routed to the owner.

Same paths and wire types as the single-node API (service/api), so the web console works unchanged; the token
guard, error format, limits, alert history and live feed are the single-node ones (they read `settings` and
`redis` from the context). The answering node is named in the `X-Vigil-Node` header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from config.cameras import CameraSettings
from config.settings import VigilSettings
from service.api import alerts
from service.api.alert_feed import StreamSlots
from service.api.app import MAX_LIVE_STREAMS, finish_app
from service.api.ask import check_limits
from service.api.auth import require_token
from service.api.errors import NotFound, Unavailable, error_response
from service.api.footage import check_clip_range
from service.api.health import model_note
from service.api.schemas import AskRequest, AskResponse, CameraView, InfoView, LimitsView
from service.cluster.coordinator import Coordinator
from service.cluster.members import ActorCallError, call
from service.cluster.reports import ClusterCameraView, NodeView, Refusal

NODE_HEADER = "X-Vigil-Node"
ROUTED_TIMEOUT_S = 120.0  # an ask behind a long engine backlog, or a long clip export


@dataclass(frozen=True)
class ClusterContext:
    """What the front's routes read (the token guard reads `settings`, as in the single-node API)."""

    settings: VigilSettings
    coordinator: Coordinator
    redis: Redis  # alert history and the live feed read the one stream


def _ctx(request: Request) -> ClusterContext:
    ctx: ClusterContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ClusterContext, Depends(_ctx)]
public = APIRouter()
router = APIRouter(prefix="/api/cameras")


def _camera(camera_id: str, ctx: Ctx) -> CameraSettings:
    for camera in ctx.settings.cameras:
        if camera.id == camera_id:
            return camera
    raise NotFound(f"unknown camera {camera_id[:64]!r}; GET /api/cameras lists the configured ones")


Camera = Annotated[CameraSettings, Depends(_camera)]


@public.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@public.get("/readyz")
async def readyz(ctx: Ctx) -> Response:
    """Ready once every enabled camera has a ready owner."""
    waiting = [c.id for c in ctx.settings.cameras if c.enabled and ctx.coordinator.owner(c.id) is None]
    if waiting:
        return error_response(503, f"cameras waiting for a node: {', '.join(waiting)}")
    return Response('{"status":"ready"}', media_type="application/json")


@public.get("/api/info", response_model=InfoView)
async def info(ctx: Ctx) -> InfoView:
    """What the console needs first (same as the single-node /api/info)."""
    st = ctx.settings
    model = st.engine.model if st.engine.enabled else None
    limits = LimitsView(max_question_chars=st.api.max_question_chars, max_window_s=st.api.max_window_s,
                        max_clip_s=st.storage.max_clip_s, max_body_bytes=st.api.max_body_bytes)
    return InfoView(model=model, model_note=model_note(model), auth_required=st.api.token is not None,
                    limits=limits, clip_pre_s=st.storage.clip_pre_s, clip_post_s=st.storage.clip_post_s)


@public.get("/metrics", response_class=Response, dependencies=[Depends(require_token)])
async def metrics() -> Response:
    """The front's own metrics (placement, nodes); each node actor's live in its own process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@public.get("/api/nodes", response_model=list[NodeView], dependencies=[Depends(require_token)])
async def list_nodes(ctx: Ctx) -> list[NodeView]:
    """The Vigil nodes the front knows, with their cameras."""
    return ctx.coordinator.nodes()


@router.get("", response_model=list[ClusterCameraView])
async def list_cameras(ctx: Ctx) -> list[ClusterCameraView]:
    """Every configured camera, with the Ray node that runs it and what that node reports."""
    return [_view(ctx.coordinator, c) for c in ctx.settings.cameras]


@router.get("/{camera_id}", response_model=ClusterCameraView)
async def get_camera(ctx: Ctx, camera: Camera) -> ClusterCameraView:
    return _view(ctx.coordinator, camera)


@router.get("/{camera_id}/scores")
async def rule_scores(ctx: Ctx, camera: Camera) -> Response:
    """Recent (t_wall, score) per rule, from the owner's rules: the camera page's chart."""
    return await _routed(ctx, camera.id, "scores")


@router.post("/{camera_id}/ask", response_model=AskResponse)
async def ask(ctx: Ctx, camera: Camera, body: AskRequest) -> Response:
    """Answered by the camera's owner, on its own KV cache."""
    check_limits(ctx.settings, body.question.strip(), body)
    return await _routed(ctx, camera.id, "ask", body)


@router.get("/{camera_id}/snapshot.jpg", response_class=Response)
async def snapshot(ctx: Ctx, camera: Camera, t: Annotated[float | None, Query()] = None) -> Response:
    return await _routed(ctx, camera.id, "snapshot", t)


@router.get("/{camera_id}/clip.mp4", response_class=Response)
async def clip(ctx: Ctx, camera: Camera, start: Annotated[float, Query()], end: Annotated[float, Query()]) -> Response:
    check_clip_range(start, end, ctx.settings.storage.max_clip_s)
    return await _routed(ctx, camera.id, "clip", start, end)


async def _routed(ctx: Ctx, camera_id: str, method: str, *args: Any) -> Response:
    owner = ctx.coordinator.owner(camera_id)
    if owner is None:
        raise Unavailable(f"camera {camera_id!r} has no node right now (it is being placed); try again shortly")
    node, actor = owner
    try:
        result = await call(getattr(actor, method).remote(camera_id, *args), ROUTED_TIMEOUT_S)
    except ActorCallError as exc:
        raise Unavailable(f"camera {camera_id!r}: its node {node[:12]} did not answer ({type(exc).__name__}); "
                          "the camera is re-placed if the node is gone, try again shortly") from exc
    headers = {NODE_HEADER: node}
    if isinstance(result, Refusal):
        return error_response(result.status, result.reason, headers)
    if isinstance(result, AskResponse):
        return Response(result.model_dump_json(), media_type="application/json", headers=headers)
    if isinstance(result, dict):
        return Response(json.dumps(result), media_type="application/json", headers=headers)
    media = "image/jpeg" if method == "snapshot" else "video/mp4"
    return Response(result, media_type=media, headers={**headers, "Cache-Control": "no-store"})


def _view(coordinator: Coordinator, camera: CameraSettings) -> ClusterCameraView:
    owner = coordinator.owner(camera.id)
    node = owner[0] if owner is not None else None
    view = _reported(coordinator, node, camera.id) if node is not None else None
    if view is not None:
        return ClusterCameraView(**view.model_dump(), node=node)
    reason = "the owner is starting the camera" if node is not None else "waiting for a node"
    return ClusterCameraView(
        id=camera.id, name=camera.name or camera.id, enabled=camera.enabled, source=camera.source.type,
        state="starting" if node is not None else "unplaced", badge="offline", reason=reason, fps=None,
        last_frame_t=None, engine=None, stats={}, rules=[], node=node,
    )


def _reported(coordinator: Coordinator, node: str, camera_id: str) -> CameraView | None:
    report = coordinator.reports.get(node)
    if report is None:
        return None
    return next((v for v in report.cameras if v.id == camera_id), None)


def create_front(ctx: ClusterContext) -> FastAPI:
    app = FastAPI(title="Vigil cluster", version="0.1.0", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.state.stream_slots = StreamSlots(MAX_LIVE_STREAMS)
    app.include_router(public)
    for routes in (router, alerts.router):
        app.include_router(routes, dependencies=[Depends(require_token)])
    finish_app(app, ctx.settings.api.max_body_bytes)
    return app
