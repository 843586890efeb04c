"""Who may call the API: the bind-address rule checked at start, and the bearer-token guard on every data route."""

from __future__ import annotations

import hmac
import ipaddress

import structlog
from fastapi import Request

from config.errors import ConfigError, ConfigIssue
from config.settings import VigilSettings
from service.api.deps import Ctx
from service.api.errors import Unauthorized
from service.api.metrics import AUTH_FAILURES

log = structlog.get_logger(__name__)
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True only for addresses that never leave this machine; '0.0.0.0' and names that resolve elsewhere are not."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(settings: VigilSettings) -> None:
    """Refuse to serve beyond loopback without a token; the composition root calls this before starting HTTP."""
    api = settings.api
    if not api.enabled or is_loopback(api.host) or _token(settings):
        return
    issue = ConfigIssue(
        "api.token",
        f"api.host is {api.host!r}, which is reachable from other machines, and no token is set; set api.token "
        "(e.g. token: ${VIGIL_API_TOKEN}) or bind to 127.0.0.1",
    )
    raise ConfigError("api", [issue])


def _token(settings: VigilSettings) -> bytes | None:
    secret = settings.api.token
    value = secret.get_secret_value() if secret is not None else ""
    return value.encode() if value else None


def presented_token(request: Request) -> str | None:
    """The bearer token of the request; EventSource cannot set headers, so `?token=` is accepted too."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("token") or None


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
