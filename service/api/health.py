"""Liveness, readiness, Prometheus metrics, the OpenAPI document and what the console needs to know first."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from service.api.deps import Ctx
from service.api.schemas import TINY_NOTE, InfoView, LimitsView, ReadyView
from service.api.zone_yaml import region_conditions

public = APIRouter(tags=["health"])
router = APIRouter(tags=["health"])
PING_TIMEOUT_S = 1.0  # a Redis that does not answer a PING within this is reported down


@public.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving; no token needed."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyView, responses={503: {"model": ReadyView}})
async def readyz(ctx: Ctx) -> JSONResponse:
    """Ready when the engine is loaded (or disabled) and alerts can be delivered: to Redis, or to the on-disk
    outbox while Redis is away. `redis` is whether Redis answers a PING now, whatever the outbox does."""
    redis_up = await _pings(ctx)
    ready = redis_up or ctx.alerts_deliverable()
    if redis_up:
        reason = ""
    elif ready:
        reason = "Redis is unreachable; alerts go to the on-disk outbox and are delivered when it returns"
    else:
        reason = "Redis is unreachable and the outbox is not taking events (full)"
    view = ReadyView(ready=ready, engine="disabled" if ctx.engine is None else "loaded", redis=redis_up, reason=reason)
    return JSONResponse(view.model_dump(), status_code=200 if ready else 503)


async def _pings(ctx: Ctx) -> bool:
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            return bool(await ctx.redis.ping())
    except (RedisError, OSError, TimeoutError):
        return False


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/api/info", response_model=InfoView)
async def info(ctx: Ctx) -> InfoView:
    """The model preset (and whether its answers mean anything), limits and clip padding, for the console."""
    settings = ctx.settings
    model = settings.engine.model if ctx.engine is not None else None
    limits = LimitsView(max_question_chars=settings.api.max_question_chars, max_window_s=settings.api.max_window_s,
                        max_clip_s=settings.storage.max_clip_s, max_body_bytes=settings.api.max_body_bytes)
    return InfoView(model=model, model_note=model_note(model), auth_required=settings.api.token is not None,
                    limits=limits, clip_pre_s=settings.storage.clip_pre_s, clip_post_s=settings.storage.clip_post_s,
                    region_conditions=region_conditions())


def model_note(model: str | None) -> str | None:
    # The tiny preset has random weights: its answers show the mechanics and must never read as detections.
    return TINY_NOTE if model == "tiny" else None
