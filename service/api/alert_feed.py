"""The live alert feed: server-sent events read from the Redis stream, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.event import AlertEvent
from alerts.history import entry_event
from service.api.metrics import SSE_CLIENTS, SSE_REFUSED
from service.api.slots import SlotResponse, Slots

log = structlog.get_logger(__name__)
BLOCK_MS = 10_000  # one XREAD waits at most this long; a keep-alive comment follows an empty wait
MAX_LIFETIME_S = 300.0  # a stream ends after this and the browser reconnects from its Last-Event-ID
REDIS_DEFAULT_TIMEOUT_S = 5.0  # redis-py's socket_timeout when the client was built without one
RETRY_MS = 2_000  # what EventSource waits before reconnecting
BATCH = 100
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class StreamSlots(Slots):
    """Bounds the open live streams (each holds a Redis connection in a blocking read); policy: refuse the new one."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, "live alert streams", SSE_REFUSED, SSE_CLIENTS)


class EventStreamResponse(SlotResponse):
    """A server-sent event stream that releases its stream slot however it ends."""

    def __init__(self, events: AsyncIterator[str], slots: StreamSlots) -> None:
        super().__init__(events, "text/event-stream", slots)


def resume_id(last_event_id: str | None) -> str | None:
    """A well-formed stream id from the browser's Last-Event-ID header, else None (start from now)."""
    if last_event_id and STREAM_ID.match(last_event_id.strip()):
        return last_event_id.strip()
    return None


def sse_message(event: str, data: str, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def block_ms(redis: Redis) -> int:
    """A blocking read must end well inside the client's socket timeout (redis-py's default is 5 s)."""
    timeout = redis.connection_pool.connection_kwargs.get("socket_timeout", REDIS_DEFAULT_TIMEOUT_S)
    return BLOCK_MS if not timeout else max(100, min(BLOCK_MS, int(float(timeout) * 500)))


async def alert_events(redis: Redis, stream: str, camera: str | None, cursor: str | None) -> AsyncIterator[str]:
    """Yields SSE messages: `alert` events as they are appended, keep-alive comments while idle."""
    try:
        # XREAD from '$' would lose events appended between two reads: start from a concrete id, resolved
        # before the first byte, so whatever is appended once the client sees the stream open is delivered.
        position = cursor or await newest_id(redis, stream)
        yield f"retry: {RETRY_MS}\n\n"
        deadline, block = time.monotonic() + MAX_LIFETIME_S, block_ms(redis)
        while time.monotonic() < deadline:
            entries = await read_after(redis, stream, position, block)
            if not entries:
                yield ": keep-alive\n\n"
            for entry in entries:
                position = _text(entry[0])
                event = entry_event(entry)
                if event is not None and camera in (None, event.camera):
                    yield alert_message(event, position)
    except (RedisError, OSError) as exc:
        # The browser reconnects after RETRY_MS and resumes from the last id it received.
        log.warning("api.alert_feed_redis_error", reason=str(exc))
        yield sse_message("unavailable", json.dumps({"error": "Redis is unreachable; reconnecting"}))


def alert_message(event: AlertEvent, entry_id: str) -> str:
    # The SSE id is the stream id, so a reconnecting EventSource resumes exactly after it.
    return sse_message("alert", event.to_json(), entry_id)


async def newest_id(redis: Redis, stream: str) -> str:
    """The id of the newest entry, "0-0" for an empty stream."""
    newest: Any = await redis.xrevrange(stream, count=1)
    return _text(newest[0][0]) if newest else "0-0"


async def read_after(redis: Redis, stream: str, position: str, block: int) -> list[Any]:
    """Stream entries (id, fields) after `position`, oldest first, waiting up to `block` ms for one."""
    reply: Any = await redis.xread({stream: position}, block=block, count=BATCH)
    return list(reply[0][1]) if reply else []


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
