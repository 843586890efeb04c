"""`vigil alerts tail`: follow the alert stream, from now or as a consumer group with acknowledgements.

When Redis goes away after the tail has started, it reconnects with exponential backoff and jitter and resumes
where it was: the plain reader from the last entry it printed, the group reader from the group's position kept
in Redis (its own unacknowledged entries first). Only the first connection fails fast, with a clear error.
`url` may be a callable asked before each connection: an embedded Redis restarted by a new `vigil run` may
listen on another port (`redis.embedded_port: 0`), and the run file names the current one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import sys
from collections.abc import Callable
from typing import Any, TextIO

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from alerts.errors import AlertsError
from alerts.event import AlertEvent
from alerts.history import entry_event
from config.loader import redact_url

BLOCK_MS = 1000
RECONNECT_FIRST_S = 0.5  # first wait after Redis went away; doubles per failed attempt (with jitter)
RECONNECT_MAX_S = 10.0
_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


async def tail(url: str | Callable[[], str], stream: str, group: str | None = None, as_json: bool = False,
               out: TextIO = sys.stdout, count: int | None = None, stop: asyncio.Event | None = None,
               ready: asyncio.Event | None = None, err: TextIO = sys.stderr) -> None:
    """Print events as they arrive until `count` were printed (None: forever) or `stop` is set.

    Without a group: events added from now on. With a group: the group is created at the stream's end if new,
    this consumer's unacknowledged events are printed first, and each event is acknowledged once printed.
    `ready` is set once the first connection follows the stream (events added after it are printed).
    `url`: the Redis URL, or a callable returning the current one (asked before each connection).
    """
    reader: _Reader | _GroupReader = _GroupReader(stream, group) if group else _Reader(stream)
    follow = _Follow(reader, as_json, out, count, stop or asyncio.Event())
    delay, connected, lost = RECONNECT_FIRST_S, False, False
    while not follow.done():
        current = url() if callable(url) else url
        client = aioredis.Redis.from_url(current)
        try:
            await reader.open(client)
            if lost:
                err.write(f"following {stream} again on {redact_url(current)}\n")
            connected, delay, lost = True, RECONNECT_FIRST_S, False
            if ready is not None:
                ready.set()
            await follow.run(client)
        except _LOST as exc:
            if not connected:
                raise AlertsError(f"cannot follow {stream} on {redact_url(current)}: {exc}; is Redis running?") from exc
            err.write(f"lost {stream} on {redact_url(current)} ({exc}); reconnecting in {delay:.1f} s\n")
            lost = True
            await follow.pause(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RECONNECT_MAX_S)
        except RedisError as exc:
            raise AlertsError(f"cannot follow {stream} on {redact_url(current)}: {exc}") from exc
        finally:
            await client.aclose()


class _Follow:
    """The printing loop; it owns the count of printed events across reconnections."""

    def __init__(self, reader: _Reader | _GroupReader, as_json: bool, out: TextIO, count: int | None,
                 stop: asyncio.Event) -> None:
        self.reader, self.as_json, self.out, self.count, self.stop = reader, as_json, out, count, stop
        self.printed = 0

    def done(self) -> bool:
        return self.stop.is_set() or (self.count is not None and self.printed >= self.count)

    async def run(self, client: aioredis.Redis) -> None:
        while not self.done():
            for entry_id, event in await self.reader.read(client, None if self.count is None else
                                                          self.count - self.printed):
                if event is not None:
                    self.out.write((event.to_json() if self.as_json else format_event(event)) + "\n")
                    self.out.flush()
                    self.printed += 1
                await self.reader.ack(client, entry_id)

    async def pause(self, seconds: float) -> None:
        """Wait before reconnecting; a stop ends the wait at once."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


def format_event(e: AlertEvent) -> str:
    """One readable line per event."""
    extra = f" ended_at={e.ended_at}" if e.ended_at else ""
    why = f' "{e.explanation}"' if e.explanation else ""
    severity = f"{e.severity.upper()} [UNTRAINED MODEL]" if e.untrained else e.severity.upper()
    return (f"{e.emitted_at} {severity:8} {e.type.value:7} {e.rule} @ {e.camera} "
            f"score={e.score:.2f} peak={e.peak_score:.2f} id={e.id}{extra} clip={e.clip.path}{why}")


Entries = list[tuple[str, AlertEvent | None]]


class _Reader:
    """From the stream's end at the first open; after a reconnection, from the last entry read."""

    def __init__(self, stream: str) -> None:
        self._stream, self._last = stream, ""

    async def open(self, client: aioredis.Redis) -> None:
        if self._last:
            await client.ping()  # a reconnection counts (and resets the backoff) only once Redis answers
            return
        # Resolve '$' once, so events added between two reads are not skipped.
        info = await client.xinfo_stream(self._stream) if await client.exists(self._stream) else None
        self._last = _text(info["last-generated-id"]) if info else "0-0"

    async def read(self, client: aioredis.Redis, count: int | None) -> Entries:
        reply = await client.xread({self._stream: self._last}, count=count, block=BLOCK_MS)
        entries = _entries(reply)
        if entries:
            self._last = entries[-1][0]
        return entries

    async def ack(self, client: aioredis.Redis, entry_id: str) -> None:
        return None


class _GroupReader:
    """The group's position lives in Redis; each (re)connection first re-reads this consumer's pending entries."""

    def __init__(self, stream: str, group: str) -> None:
        self._stream, self._group = stream, group
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._cursor = "0"

    async def open(self, client: aioredis.Redis) -> None:
        self._cursor = "0"  # first this consumer's pending (unacknowledged) entries, then new ones
        try:
            await client.xgroup_create(self._stream, self._group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, client: aioredis.Redis, count: int | None) -> Entries:
        block = None if self._cursor == "0" else BLOCK_MS
        reply = await client.xreadgroup(self._group, self._consumer, {self._stream: self._cursor},
                                        count=count, block=block)
        entries = _entries(reply)
        if self._cursor == "0" and not entries:
            self._cursor = ">"
        return entries

    async def ack(self, client: aioredis.Redis, entry_id: str) -> None:
        await client.xack(self._stream, self._group, entry_id)


def _entries(reply: Any) -> Entries:
    out: Entries = []
    for _stream, items in reply or []:
        for entry in items:
            out.append((_text(entry[0]), entry_event(entry)))
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
