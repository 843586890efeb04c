"""Reading alert events back from the Redis stream (GET /api/alerts)."""

from __future__ import annotations

from typing import Any

import structlog
from redis.asyncio import Redis

from alerts.event import AlertEvent

log = structlog.get_logger(__name__)
PAGE = 200  # entries fetched per XREVRANGE round trip


async def read_alerts(redis: Redis, stream: str, camera: str | None = None, rule: str | None = None,
                      since: float | None = None, limit: int = 100, severity: str | None = None,
                      until: float | None = None) -> list[AlertEvent]:
    """Newest first: up to `limit` events, optionally of one camera, rule and/or severity, published between
    `since` and `until` (Unix s)."""
    found: list[AlertEvent] = []
    low = "-" if since is None else f"{int(since * 1000)}-0"
    high = "+" if until is None else str(int(until * 1000))  # an id without "-seq" covers that whole millisecond
    while len(found) < limit:
        page: list[Any] = list(await redis.xrevrange(stream, max=high, min=low, count=PAGE) or [])
        found += [e for e in map(entry_event, page)
                  if e is not None and _wanted(e, camera, rule) and severity in (None, e.severity)]
        if len(page) < PAGE:
            break
        high = f"({_entry_id(page[-1])}"  # exclusive: continue below the last entry read
    return found[:limit]


def entry_event(entry: Any) -> AlertEvent | None:
    """The AlertEvent of one stream entry, or None (logged) for an entry that is not one."""
    fields = entry[1] or {}
    raw = fields.get(b"event", fields.get("event"))
    if raw is None:
        return None
    try:
        return AlertEvent.from_json(raw)
    except ValueError as exc:
        log.warning("alerts.unreadable_entry", entry_id=_entry_id(entry), error=str(exc)[:200])
        return None


def _entry_id(entry: Any) -> str:
    ident = entry[0]
    return ident.decode() if isinstance(ident, bytes) else str(ident)


def _wanted(event: AlertEvent, camera: str | None, rule: str | None) -> bool:
    return (camera is None or event.camera == camera) and (rule is None or event.rule == rule)
