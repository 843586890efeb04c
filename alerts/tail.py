"""`vigil alerts tail`: follow the alert stream, from now or as a consumer group with acknowledgements."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, TextIO

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from alerts.errors import AlertsError
from alerts.event import AlertEvent
from alerts.history import entry_event
from config.loader import redact_url

BLOCK_MS = 1000


async def tail(url: str, stream: str, group: str | None = None, as_json: bool = False, out: TextIO = sys.stdout,
               count: int | None = None) -> None:
    """Print events as they arrive until `count` were printed (None: forever).

    Without a group: events added from now on. With a group: the group is created at the stream's end if new,
    this consumer's unacknowledged events are printed first, and each event is acknowledged once printed.
    """
    client = aioredis.Redis.from_url(url)
    try:
        reader = _GroupReader(client, stream, group) if group else _Reader(client, stream)
        await reader.open()
        printed = 0
        while count is None or printed < count:
            for entry_id, event in await reader.read(None if count is None else count - printed):
                if event is not None:
                    out.write((event.to_json() if as_json else format_event(event)) + "\n")
                    out.flush()
                    printed += 1
                await reader.ack(entry_id)
    except RedisError as exc:
        raise AlertsError(f"cannot follow {stream} on {redact_url(url)}: {exc}; is Redis running?") from exc
    finally:
        await client.aclose()


def format_event(e: AlertEvent) -> str:
    """One readable line per event."""
    extra = f" ended_at={e.ended_at}" if e.ended_at else ""
    why = f' "{e.explanation}"' if e.explanation else ""
    severity = f"{e.severity.upper()} [UNTRAINED MODEL]" if e.untrained else e.severity.upper()
    return (f"{e.emitted_at} {severity:8} {e.type.value:7} {e.rule} @ {e.camera} "
            f"score={e.score:.2f} peak={e.peak_score:.2f} id={e.id}{extra} clip={e.clip.path}{why}")


Entries = list[tuple[str, AlertEvent | None]]


class _Reader:
    def __init__(self, client: aioredis.Redis, stream: str) -> None:
        self._client, self._stream, self._last = client, stream, "$"

    async def open(self) -> None:
        # Resolve '$' once, so events added between two reads are not skipped.
        info = await self._client.xinfo_stream(self._stream) if await self._client.exists(self._stream) else None
        self._last = _text(info["last-generated-id"]) if info else "0-0"

    async def read(self, count: int | None) -> Entries:
        reply = await self._client.xread({self._stream: self._last}, count=count, block=BLOCK_MS)
        entries = _entries(reply)
        if entries:
            self._last = entries[-1][0]
        return entries

    async def ack(self, entry_id: str) -> None:
        return None


class _GroupReader:
    def __init__(self, client: aioredis.Redis, stream: str, group: str) -> None:
        self._client, self._stream, self._group = client, stream, group
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._cursor = "0"  # first this consumer's pending (unacknowledged) entries, then new ones

    async def open(self) -> None:
        try:
            await self._client.xgroup_create(self._stream, self._group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int | None) -> Entries:
        block = None if self._cursor == "0" else BLOCK_MS
        reply = await self._client.xreadgroup(self._group, self._consumer, {self._stream: self._cursor},
                                              count=count, block=block)
        entries = _entries(reply)
        if self._cursor == "0" and not entries:
            self._cursor = ">"
        return entries

    async def ack(self, entry_id: str) -> None:
        await self._client.xack(self._stream, self._group, entry_id)


def _entries(reply: Any) -> Entries:
    out: Entries = []
    for _stream, items in reply or []:
        for entry in items:
            out.append((_text(entry[0]), entry_event(entry)))
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
