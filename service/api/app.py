"""The FastAPI application: routers by area, the token guard, limits, and JSON errors."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from service.api import alerts, ask, cameras, footage, health, whip
from service.api.alert_feed import StreamSlots
from service.api.auth import require_token
from service.api.console import mount_console
from service.api.errors import install_error_handlers
from service.api.middleware import BodyLimit, ErrorShield, SecurityHeaders
from service.api.schemas import errors
from service.context import ServiceContext

MAX_LIVE_STREAMS = 32  # open consoles; each live stream holds one Redis connection


def create_app(ctx: ServiceContext) -> FastAPI:
    """Every route but /healthz and the static console needs the token when one is configured."""
    app = FastAPI(title="Vigil", version="0.1.0", summary="Streaming video-language anomaly detection",
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.state.stream_slots = StreamSlots(MAX_LIVE_STREAMS)
    app.include_router(health.public)
    guarded = [Depends(require_token)]
    for router in (health.router, cameras.router, ask.router, footage.router, alerts.router, whip.router):
        app.include_router(router, dependencies=guarded, responses=errors(401, 422))
    mount_console(app)
    install_error_handlers(app)
    # Added last runs first: the shield wraps everything, then headers, then the body limit.
    app.add_middleware(BodyLimit, limit=ctx.settings.api.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ErrorShield)
    return app
