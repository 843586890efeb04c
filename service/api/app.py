"""The FastAPI application: routers by area, the token guard, limits, and JSON errors."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from service.api import alerts, ask, cameras, footage, health, live, whip, zones
from service.api.alert_feed import StreamSlots
from service.api.auth import require_token
from service.api.console import mount_console
from service.api.errors import install_error_handlers
from service.api.live import LiveJpegs, LiveSlots
from service.api.live_tickets import LiveTickets
from service.api.middleware import BodyLimit, ErrorShield, SecurityHeaders
from service.api.schemas import errors
from service.context import ServiceContext

MAX_LIVE_STREAMS = 32  # open consoles; each live stream holds one Redis connection
MAX_LIVE_VIEWS = 64  # open live views (MJPEG): a 16-camera wall in four tabs


def create_app(ctx: ServiceContext) -> FastAPI:
    """Every route but /healthz and the static console needs the token when one is configured."""
    app = FastAPI(title="Vigil", version="0.1.0", summary="Streaming video-language anomaly detection",
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.state.stream_slots = StreamSlots(MAX_LIVE_STREAMS)
    app.state.live_slots = LiveSlots(MAX_LIVE_VIEWS)
    app.state.live_jpegs = LiveJpegs()
    app.state.live_tickets = LiveTickets()
    app.include_router(health.public)
    app.include_router(live.router)  # checks a token header or a live ticket itself (an <img> sends no header)
    guarded = [Depends(require_token)]
    for router in (health.router, cameras.router, ask.router, footage.router, alerts.router, whip.router,
                   live.guarded, zones.router):
        app.include_router(router, dependencies=guarded, responses=errors(401, 422))
    finish_app(app, ctx.settings.api.max_body_bytes)
    return app


def finish_app(app: FastAPI, max_body_bytes: int) -> None:
    """The console, JSON errors and the middlewares, shared with the cluster front (service/cluster/front.py)."""
    mount_console(app)
    install_error_handlers(app)
    # Added last runs first: the shield wraps everything, then headers, then the body limit.
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ErrorShield)
