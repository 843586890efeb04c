"""Live view: MJPEG over HTTP from a camera's frame ring (GET .../live.mjpeg) and the tickets that open it.

MJPEG (multipart/x-mixed-replace) plays in any browser's <img>, needs no plugin and passes every proxy. Each
frame is JPEG-encoded once per camera and width, however many viewers watch it (LiveJpegs); a viewer gets the
newest frame as soon as the camera's worker puts it in the ring, so the latency is one sampling interval at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Protocol
from urllib.parse import quote

import cv2
import numpy as np
import numpy.typing as npt
import structlog
from fastapi import APIRouter, Query, Request
from starlette.responses import StreamingResponse

from ingest.frame import Frame
from service.api.auth import header_token_ok
from service.api.deps import Camera, Ctx, known_camera
from service.api.errors import ApiError, Unauthorized
from service.api.live_tickets import LiveTickets
from service.api.metrics import AUTH_FAILURES, LIVE_REFUSED, LIVE_VIEWERS
from service.api.schemas import LiveTicketView
from service.api.slots import SlotResponse, Slots

log = structlog.get_logger(__name__)
guarded = APIRouter(prefix="/api/cameras", tags=["live"])  # behind the bearer-token guard
router = APIRouter(prefix="/api/cameras", tags=["live"])  # checks a bearer token or a ticket itself
POLL_S = 0.04  # how often a viewer looks for a newer frame; well under any camera's sampling interval
BOUNDARY = "vigil-frame"
PART_HEAD = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode()
JPEG_QUALITY = 80
WIDTHS = (320, 640, 960, 1280, 1920)  # a few sizes only, so the shared encodings stay bounded


class LiveSlots(Slots):
    """Bounds the open live views (each one wakes every POLL_S); policy: refuse the new one with 503."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, "live views", LIVE_REFUSED, LIVE_VIEWERS)


class LiveJpegs:
    """The newest JPEG of each (camera, width): encoded once and shared by every viewer. Event-loop owned."""

    def __init__(self) -> None:
        self._newest: dict[tuple[str, int | None], tuple[int, bytes]] = {}
        self._locks: dict[tuple[str, int | None], asyncio.Lock] = {}

    async def jpeg(self, frame: Frame, width: int | None) -> bytes:
        key = (frame.camera_id, width)
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._newest.get(key)
            if cached is not None and cached[0] >= frame.seq:
                return cached[1]
            data = await asyncio.to_thread(encode_jpeg, frame.image, width)
            self._newest[key] = (frame.seq, data)
            return data


def encode_jpeg(image: npt.NDArray[np.uint8], width: int | None) -> bytes:
    """[H, W, 3] BGR uint8 -> JPEG, shrunk (INTER_AREA) to `width` pixels when the image is wider."""
    height, full = image.shape[:2]
    if width is not None and full > width:
        size = (width, max(1, round(height * width / full)))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ApiError("a live frame could not be JPEG-encoded")
    return bytes(buf)


class LiveResponse(SlotResponse):
    """An MJPEG stream that releases its live-view slot however it ends."""

    def __init__(self, parts: AsyncIterator[bytes], slots: LiveSlots) -> None:
        super().__init__(parts, f"multipart/x-mixed-replace; boundary={BOUNDARY}", slots)


@guarded.post("/{camera_id}/live-ticket", response_model=LiveTicketView,
              responses={404: {"description": "unknown camera"}})
async def live_ticket(request: Request, camera: Camera) -> LiveTicketView:
    """A ticket that opens this camera's live stream for the next minute (for <img>, which sends no header)."""
    tickets: LiveTickets = request.app.state.live_tickets
    ticket, expires = tickets.issue(camera.id)
    url = f"/api/cameras/{quote(camera.id, safe='')}/live.mjpeg?ticket={ticket}"
    return LiveTicketView(ticket=ticket, expires_at=expires, url=url)


@router.get("/{camera_id}/live.mjpeg", response_class=StreamingResponse,
            responses={200: {"content": {"multipart/x-mixed-replace": {}}, "description": "JPEG frames, live"},
                       401: {"description": "no valid token or ticket"}, 404: {"description": "unknown camera"},
                       503: {"description": "too many live views open"}})
async def live(ctx: Ctx, request: Request, camera_id: str,
               ticket: Annotated[str | None, Query(max_length=120, description="from POST .../live-ticket")] = None,
               width: Annotated[int | None, Query(ge=160, le=7680, description="shrink frames to about this "
                                                  "width (px): rounded up to 320, 640, 960, 1280 or 1920")] = None,
               ) -> LiveResponse:
    """The camera's frames as they arrive, as MJPEG: `<img src=".../live.mjpeg?ticket=...">`."""
    _check_access(request, ctx, camera_id, ticket)  # before the id is looked up: nothing leaks without access
    camera = known_camera(camera_id, ctx)
    buffer = ctx.ingest.buffer(camera.id)  # an unknown or disabled camera: 404 from its error
    slots: LiveSlots = request.app.state.live_slots
    slots.acquire()
    size = snapped(width)
    log.info("api.live_opened", camera_id=camera.id, width=size)
    return LiveResponse(mjpeg_parts(buffer, request.app.state.live_jpegs, size), slots)


def snapped(width: int | None) -> int | None:
    """The smallest of WIDTHS at least `width` (None, full size, beyond the largest)."""
    return next((w for w in WIDTHS if width is not None and w >= width), None)


def _check_access(request: Request, ctx: Ctx, camera_id: str, ticket: str | None) -> None:
    if header_token_ok(request, ctx.settings):
        return
    tickets: LiveTickets = request.app.state.live_tickets
    if ticket is not None and tickets.valid(ticket, camera_id):
        return
    AUTH_FAILURES.labels(reason="missing" if ticket is None else "ticket").inc()
    raise Unauthorized("a live view needs 'Authorization: Bearer <token>' or a fresh ?ticket= from "
                       "POST /api/cameras/{id}/live-ticket (tickets last a minute)")


class FrameSource(Protocol):
    """What a live view reads: the camera's ring (ingest.buffer.FrameBuffer has this method)."""

    def latest(self) -> Frame | None: ...


async def mjpeg_parts(buffer: FrameSource, jpegs: LiveJpegs, width: int | None) -> AsyncIterator[bytes]:
    """One multipart part per new frame in the ring; the newest frame first, then each newer one."""
    sent = -1
    yield PART_HEAD
    while True:
        frame = buffer.latest()
        if frame is None or frame.seq == sent:
            await asyncio.sleep(POLL_S)
            continue
        sent = frame.seq
        yield part(await jpegs.jpeg(frame, width))


def part(jpeg: bytes) -> bytes:
    """The JPEG, then at once the next part's boundary and headers: a browser shows a part only once it has read
    the headers of the one after it, so a camera that stops keeps its newest frame on screen."""
    return jpeg + b"\r\n" + PART_HEAD
