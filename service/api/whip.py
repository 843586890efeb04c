"""WHIP (WebRTC-HTTP ingestion): a publisher POSTs an SDP offer for a webrtc camera and DELETEs to hang up."""

from __future__ import annotations

import re
from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Request, Response

from config.cameras import CameraSettings
from service.api.deps import Camera, Ctx
from service.api.errors import BadRequest, Conflict, UnsupportedMediaType
from service.api.schemas import errors

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/whip", tags=["whip"])
SDP = "application/sdp"
SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="from the Location of the POST")]
SDP_BODY = {"content": {SDP: {"schema": {"type": "string"}}}, "required": True}


@router.post("/{camera_id}", status_code=201, response_class=Response, openapi_extra={"requestBody": SDP_BODY},
             responses={201: {"content": {SDP: {}}, "description": "the SDP answer; Location names the session"},
                        **errors(400, 404, 409, 413, 415, 503)})
async def publish(ctx: Ctx, camera: Camera, request: Request) -> Response:
    """Offer (application/sdp) in, answer out; a second publisher for the same camera replaces the first."""
    _require_webrtc(camera)
    offer = await _sdp_body(request)
    answer, session_id = await ctx.ingest.whip.offer(camera.id, offer)
    log.info("api.whip_published", camera_id=camera.id, session_id=session_id)
    return Response(answer, status_code=201, media_type=SDP,
                    headers={"Location": f"/whip/{camera.id}/{session_id}", "Cache-Control": "no-store"})


@router.delete("/{camera_id}/{session_id}", status_code=200, response_class=Response, responses=errors(404, 409))
async def hang_up(ctx: Ctx, camera: Camera, session_id: SessionId) -> Response:
    _require_webrtc(camera)
    await ctx.ingest.whip.delete(camera.id, session_id)
    log.info("api.whip_deleted", camera_id=camera.id, session_id=session_id)
    return Response(status_code=200)


@router.delete("/{camera_id}", status_code=200, response_class=Response, responses=errors(404, 409))
async def hang_up_camera(ctx: Ctx, camera: Camera) -> Response:
    """Ends whatever session publishes to this camera (for publishers that lost their Location)."""
    _require_webrtc(camera)
    await ctx.ingest.whip.delete(camera.id, None)
    log.info("api.whip_deleted", camera_id=camera.id, session_id=None)
    return Response(status_code=200)


def _require_webrtc(camera: CameraSettings) -> None:
    if camera.source.type != "webrtc":
        raise Conflict(f"camera {camera.id!r} reads from a {camera.source.type} source; WHIP publishes only to "
                       "cameras whose source type is webrtc")


async def _sdp_body(request: Request) -> str:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != SDP:
        raise UnsupportedMediaType(f"a WHIP offer is sent as Content-Type: {SDP} (got {media_type or 'none'!r})")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the SDP offer is not UTF-8 text") from exc
    if not re.match(r"^v=0\r?\n", text):
        raise BadRequest("the body is not an SDP offer (it must start with 'v=0')")
    return text
