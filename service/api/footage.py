"""Footage on disk: what is retained (GET .../footage), snapshots (.../snapshot.jpg[?t=]) and clips (.../clip.mp4)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response

from config.errors import VigilError
from service.api.deps import Camera, Ctx
from service.api.errors import BadRequest
from service.api.metrics import CLIPS
from service.api.schemas import FootageView, TimeRangeView, errors
from service.api.values import unix_seconds

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/cameras", tags=["footage"])
NOT_FOUND = errors(400, 404)
Seconds = Annotated[float, Query(description="Unix seconds")]
DEFAULT_SPAN_S = 3600.0  # the timeline's range when none is given: the last hour
SPAN_RESOLUTION = 600  # a gap shorter than range/600 is not drawn: about one pixel of a wide timeline
MIN_GAP_S = 3.0  # frames further apart than this (or the resolution) split the coverage


@router.get("/{camera_id}/footage", response_model=FootageView, responses=errors(400, 404))
async def footage(ctx: Ctx, camera: Camera,
                  start: Annotated[float | None, Query(description="Unix seconds; default: end - 1 h")] = None,
                  end: Annotated[float | None, Query(description="Unix seconds; default: now")] = None) -> FootageView:
    """Which footage is retained in [start, end]: the covered spans (for the timeline) and the frame count."""
    t1 = time.time() if end is None else end
    t0 = t1 - DEFAULT_SPAN_S if start is None else start
    unix_seconds("start", t0)
    unix_seconds("end", t1)
    if t1 <= t0:
        raise BadRequest(f"range is inverted or empty: start {t0:.3f} must be before end {t1:.3f}")
    times = await asyncio.to_thread(ctx.footage.frame_times, camera.id, t0, t1)
    held = await asyncio.to_thread(ctx.footage.retained, camera.id)
    retained = TimeRangeView(start=held[0], end=held[1]) if held is not None else None
    gap = max(MIN_GAP_S, (t1 - t0) / SPAN_RESOLUTION)
    return FootageView(start=t0, end=t1, retained=retained, frames=len(times), gap_s=gap, spans=spans(times, gap))


def spans(times: list[float], gap_s: float) -> list[tuple[float, float]]:
    """Ascending frame times -> (first, last) runs whose neighbours are at most gap_s apart."""
    runs: list[tuple[float, float]] = []
    for t in times:
        if runs and t - runs[-1][1] <= gap_s:
            runs[-1] = (runs[-1][0], t)
        else:
            runs.append((t, t))
    return runs


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
