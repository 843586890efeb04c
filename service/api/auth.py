"""Who may call the API: the bind-address rule checked at start, and the bearer-token guard on every data route."""

from __future__ import annotations

import hmac

import structlog
from fastapi import Request

from config.checks import cross_checks, is_loopback
from config.errors import ConfigError
from config.settings import VigilSettings
from service.api.deps import Ctx
from service.api.errors import Unauthorized
from service.api.metrics import AUTH_FAILURES

log = structlog.get_logger(__name__)
__all__ = ["check_bind", "is_loopback", "presented_token", "require_token"]


def check_bind(settings: VigilSettings) -> None:
    """Refuse to serve beyond loopback without a token (config.checks, the same check `load_settings` runs);
    the composition root calls this before starting HTTP, for settings built without the loader."""
    issues = cross_checks(settings)
    if issues:
        raise ConfigError("api", issues)


def _token(settings: VigilSettings) -> bytes | None:
    secret = settings.api.token
    value = secret.get_secret_value() if secret is not None else ""
    return value.encode() if value else None


# EventSource (the console's live timeline) cannot send headers; everywhere else a token in a URL would end up in
# logs and histories, so `?token=` counts only here.
QUERY_TOKEN_PATHS = frozenset({"/api/alerts/stream"})


def presented_token(request: Request) -> str | None:
    """The bearer token of the request: the Authorization header, or `?token=` on QUERY_TOKEN_PATHS only."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.url.path in QUERY_TOKEN_PATHS:
        return request.query_params.get("token") or None
    return None


async def require_token(request: Request, ctx: Ctx) -> None:
    """A configured token is always required, whatever the bind address; compared in constant time."""
    expected = _token(ctx.settings)
    if expected is None:
        return
    given = presented_token(request)
    if given is not None and hmac.compare_digest(given.encode(), expected):
        return
    AUTH_FAILURES.labels(reason="missing" if given is None else "wrong").inc()
    log.info("api.unauthorized", path=request.url.path, reason="missing" if given is None else "wrong")
    raise Unauthorized("a bearer token is required: send 'Authorization: Bearer <token>' (api.token)")


def header_token_ok(request: Request, settings: VigilSettings) -> bool:
    """True when no token is configured, or the Authorization header carries it (never a query parameter)."""
    expected = _token(settings)
    if expected is None:
        return True
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)
