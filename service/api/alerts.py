"""Alert history (GET /api/alerts) and the live feed (GET /api/alerts/stream, server-sent events)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError

from alerts.history import read_alerts
from service.api.alert_feed import EventStreamResponse, StreamSlots, alert_events, resume_id
from service.api.deps import Ctx
from service.api.errors import BadRequest, Unavailable
from service.api.schemas import AlertList, errors

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
CameraFilter = Annotated[str | None, Query(pattern=ID_PATTERN, description="only this camera's alerts")]
RuleFilter = Annotated[str | None, Query(pattern=ID_PATTERN, description="only this rule's alerts")]
Since = Annotated[str | None, Query(max_length=40, description="Unix seconds or ISO-8601: alerts published since")]
Until = Annotated[str | None, Query(max_length=40, description="Unix seconds or ISO-8601: alerts published until")]
SeverityFilter = Annotated[Literal["info", "warning", "critical"] | None, Query(description="only this severity")]

LATEST_SINCE = 253402300800.0  # 10000-01-01: the stream ids Redis accepts, in milliseconds, stay valid


@router.get("", response_model=AlertList, responses=errors(400, 503))
async def list_alerts(ctx: Ctx, camera: CameraFilter = None, rule: RuleFilter = None, since: Since = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100, severity: SeverityFilter = None,
                      until: Until = None) -> AlertList:
    """Alert events from the Redis stream, newest first, filtered by camera, rule, severity and time."""
    after = parse_since(since) if since is not None else None
    before = parse_since(until, "until") if until is not None else None
    try:
        events = await read_alerts(ctx.redis, ctx.settings.redis.stream, camera=camera, rule=rule, since=after,
                                   limit=limit, severity=severity, until=before)
    except (RedisError, OSError) as exc:
        raise Unavailable(f"alert history is unavailable: Redis does not answer ({type(exc).__name__})") from exc
    return AlertList(alerts=[event.model_dump(mode="json") for event in events])


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "`alert` events, live"},
                       **errors(400, 503)})
async def stream_alerts(ctx: Ctx, request: Request, camera: CameraFilter = None,
                        last_event_id: Annotated[str | None, Header()] = None) -> EventStreamResponse:
    """Live alert events as they are published; EventSource may pass the token as ?token=."""
    slots: StreamSlots = request.app.state.stream_slots
    slots.acquire()
    events = alert_events(ctx.redis, ctx.settings.redis.stream, camera, resume_id(last_event_id))
    return EventStreamResponse(events, slots)


def parse_since(value: str, name: str = "since") -> float:
    """Unix seconds from '1732450000.5' or '2026-11-24T16:20:00Z', between 1970 and 9999; `name`: the query key."""
    try:
        t = float(value)
    except ValueError:
        t = _iso_seconds(value, name)
    if not 0 <= t < LATEST_SINCE:  # also refuses nan and inf
        raise BadRequest(f"{name} {value[:40]!r} is out of range; give Unix seconds or an ISO-8601 time")
    return t


def _iso_seconds(value: str, name: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise BadRequest(f"{name} {value[:40]!r} is neither Unix seconds nor an ISO-8601 time") from exc
