"""AlertPublisher: alert events to a Redis stream and a per-camera channel, camera health to a status channel.

Exactly once, in order: an event is sent with one Lua script that sets a `seen` key for its event_id with NX
and only then XADDs and PUBLISHes, so an event resent after a lost reply, a crash or a restart is recognised
and skipped. While Redis is away (or older events still wait) events go to the on-disk outbox; a background
task drains it, oldest first, every `retry_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import asdict
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from alerts.errors import PublishError
from alerts.event import AlertEvent, iso
from alerts.metrics import EVENTS_DUPLICATE, EVENTS_PUBLISHED, REDIS_UP, STATUS_DROPPED
from alerts.outbox import Outbox
from config.loader import redact_url
from config.service import RedisSettings
from ingest.status import CameraStatus

log = structlog.get_logger(__name__)
SEEN_TTL_S = 30 * 86400  # how long an event id is remembered for deduplication
STOP_FLUSH_S = 5.0  # how long stop() keeps trying to empty the outbox

# KEYS: stream, seen-key. ARGV: maxlen, ttl, channel, event json, event_id, occurrence id, type, camera, rule.
_SEND = """
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return false end
local entry = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event_id', ARGV[5], 'id', ARGV[6],
  'type', ARGV[7], 'camera', ARGV[8], 'rule', ARGV[9], 'event', ARGV[4])
if type(entry) == 'table' and entry.err then
  redis.call('DEL', KEYS[2])  -- scripts do not roll back: unmark it, or every retry would count as a duplicate
  return entry
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return entry
"""


class AlertPublisher:
    """Owns the Redis connection used for alerts and the outbox. start() opens, stop() flushes and closes."""

    def __init__(self, settings: RedisSettings, url: str, outbox_dir: Path) -> None:
        self._settings = settings
        self._url = url
        self._outbox = Outbox(outbox_dir, settings.outbox_max_bytes)
        self._redis: aioredis.Redis | None = None
        self._script: AsyncScript | None = None
        self._lock = asyncio.Lock()  # one sender at a time keeps the stream in publish order
        self._wake = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._up = True

    async def start(self) -> None:
        await asyncio.to_thread(self._outbox.open)
        timeout = self._settings.connect_timeout_s
        # No client-side retries: a failed send goes to the outbox at once and the drainer retries it.
        self._redis = aioredis.Redis.from_url(self._url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                              retry=Retry(NoBackoff(), 0))
        self._script = self._redis.register_script(_SEND)
        self._drainer = asyncio.create_task(self._drain_forever(), name="alerts-outbox-drainer")
        self._wake.set()

    async def stop(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_FLUSH_S):
                    await self._drain_once()
            if self.pending():
                log.warning("outbox.left_for_next_start", pending=self.pending())
        finally:
            if self._redis is not None:
                await self._redis.aclose()
                self._redis = None

    @property
    def deliverable(self) -> bool:
        """Alerts can be delivered now: Redis is up, or the outbox still takes events (readiness)."""
        return self._up or self._outbox.has_room()

    def pending(self) -> int:
        """Events in the outbox, not yet in Redis."""
        return len(self._outbox)

    async def publish(self, event: AlertEvent) -> None:
        """Deliver to Redis, or keep in the outbox; returns once the event is in one of the two."""
        async with self._lock:
            if self._up and not self.pending() and await self._send(event):
                return
            if not await asyncio.to_thread(self._outbox.append, event):
                raise PublishError(f"alert {event.event_id} (camera {event.camera}, rule {event.rule}) was dropped: "
                                   f"Redis at {redact_url(self._url)} is away and the outbox is full")
        self._wake.set()

    async def publish_status(self, status: CameraStatus) -> None:
        """Live camera health on the status channel; not queued while Redis is away (the next one supersedes it)."""
        if self._redis is None:
            raise PublishError("publish_status() before start(): start the publisher first")
        try:
            await self._redis.publish(self._settings.status_channel, status_json(status))
        except (RedisError, OSError) as exc:
            STATUS_DROPPED.labels(status.camera_id).inc()
            log.warning("status.not_published", camera_id=status.camera_id, state=str(status.state),
                        url=redact_url(self._url), error=str(exc))

    async def _drain_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.retry_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain_once()
            except Exception:  # a broken outbox file must not end the drainer; it retries next round
                log.exception("outbox.drain_failed")

    async def _drain_once(self) -> None:
        async with self._lock:
            while (event := self._outbox.peek()) is not None:
                if not await self._send(event):
                    return
                await asyncio.to_thread(self._outbox.pop)

    async def _send(self, event: AlertEvent) -> bool:
        """One attempt; False when Redis cannot be reached (the caller keeps the event)."""
        if self._script is None:
            raise PublishError(f"alert {event.event_id} published before start(): start the publisher first")
        s = self._settings
        keys = [s.stream, f"{s.stream}:seen:{event.event_id}"]
        args: list[str | int] = [s.stream_maxlen, SEEN_TTL_S, f"{s.channel_prefix}:{event.camera}", event.to_json(),
                event.event_id, event.id, event.type.value, event.camera, event.rule]
        try:
            entry = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._mark(False, exc)
            return False
        self._mark(True, None)
        counter = EVENTS_PUBLISHED.labels(event.camera, event.type.value) if entry else \
            EVENTS_DUPLICATE.labels(event.camera)
        counter.inc()
        return True

    def _mark(self, up: bool, exc: BaseException | None) -> None:
        if up and not self._up:
            log.info("redis.back", url=redact_url(self._url), outbox=self.pending())
        elif not up and self._up:
            log.error("redis.away", url=redact_url(self._url), error=str(exc),
                      action="events go to the outbox and are delivered in order when Redis returns")
        self._up = up
        REDIS_UP.set(1 if up else 0)


def status_json(status: CameraStatus) -> str:
    data = asdict(status)
    data.update(state=str(status.state), previous=None if status.previous is None else str(status.previous),
                at=iso(status.t_wall), online=status.online)
    return json.dumps(data, sort_keys=True)
