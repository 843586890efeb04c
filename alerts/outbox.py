"""The on-disk outbox: events kept in order while Redis is away, surviving a restart.

Two files under the outbox directory: `events.jsonl` (one event per line, appended and fsync'd) and `cursor`
(how many lines were delivered, replaced atomically). When every line is delivered both are reset. A torn last
line (a crash mid-append) is cut off on open. Bound: `max_bytes` of events.jsonl; when full the newest event is
refused (policy drop_newest) and counted, so what is already queued keeps its order.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import structlog

from alerts.errors import OutboxError
from alerts.event import AlertEvent
from alerts.metrics import OUTBOX_APPENDED, OUTBOX_DROPPED, OUTBOX_PENDING
from config.files import write_atomic

log = structlog.get_logger(__name__)


class Outbox:
    """One owner (the publisher); blocking file I/O, so the owner calls it from a worker thread."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._dir = directory
        self._events = directory / "events.jsonl"
        self._cursor = directory / "cursor"
        self._max_bytes = max_bytes
        self._refused = False
        self._queue: deque[AlertEvent] = deque()
        self._delivered = 0  # lines of events.jsonl already delivered
        self._size = 0

    def open(self) -> None:
        """Read what a previous run left undelivered."""
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            lines = self._read_lines()
            self._delivered = min(self._read_cursor(), len(lines))
        except OSError as exc:
            raise OutboxError(f"cannot open the alert outbox in {self._dir}: {exc.strerror}; "
                              "check the state directory's permissions") from exc
        self._queue = deque(_parse(lines[self._delivered:], self._events))
        if self._delivered or len(self._queue) != len(lines):
            self._compact()
        OUTBOX_PENDING.set(len(self._queue))
        if self._queue:
            log.info("outbox.restored", pending=len(self._queue), path=str(self._events))

    def __len__(self) -> int:
        return len(self._queue)

    def has_room(self) -> bool:
        """False from an event refused for lack of room until the next delivery frees some."""
        return not self._refused

    def peek(self) -> AlertEvent | None:
        return self._queue[0] if self._queue else None

    def append(self, event: AlertEvent) -> bool:
        """Write and fsync; False (and counted) when the outbox is full."""
        line = (event.to_json() + "\n").encode()
        if self._size + len(line) > self._max_bytes:
            self._refused = True
            OUTBOX_DROPPED.labels(event.camera).inc()
            log.error("outbox.full", camera_id=event.camera, rule_id=event.rule, event_id=event.event_id,
                      max_bytes=self._max_bytes, action="raise redis.outbox_max_bytes or bring Redis back")
            return False
        self._write(line)
        self._queue.append(event)
        OUTBOX_APPENDED.labels(event.camera).inc()
        OUTBOX_PENDING.set(len(self._queue))
        return True

    def pop(self) -> None:
        """Mark the oldest event delivered."""
        self._queue.popleft()
        self._delivered += 1
        self._refused = False
        if self._queue:
            write_atomic(self._cursor, str(self._delivered).encode())
        else:
            self._reset()
        OUTBOX_PENDING.set(len(self._queue))

    def _write(self, line: bytes) -> None:
        try:
            with open(self._events, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise OutboxError(f"cannot append to the alert outbox {self._events}: {exc.strerror}; "
                              "check free space") from exc
        self._size += len(line)

    def _compact(self) -> None:
        """Rewrite events.jsonl with only the undelivered events, cursor 0.

        The cursor goes first: a crash in between resends delivered events (Redis drops them by event id)
        instead of skipping undelivered ones."""
        data = "".join(e.to_json() + "\n" for e in self._queue).encode()
        write_atomic(self._cursor, b"0")
        write_atomic(self._events, data)
        self._delivered, self._size = 0, len(data)

    def _reset(self) -> None:
        # Empty the events first: a crash between the two steps leaves a cursor past the end, read back as 0.
        with open(self._events, "wb") as f:
            os.fsync(f.fileno())
        write_atomic(self._cursor, b"0")
        self._delivered = self._size = 0

    def _read_lines(self) -> list[str]:
        if not self._events.exists():
            return []
        data = self._events.read_bytes()
        good = data[: data.rfind(b"\n") + 1]
        if len(good) != len(data):
            log.warning("outbox.torn_line_dropped", path=str(self._events), bytes=len(data) - len(good))
            with open(self._events, "r+b") as f:
                f.truncate(len(good))
                os.fsync(f.fileno())
        self._size = len(good)
        return good.decode().splitlines()

    def _read_cursor(self) -> int:
        try:
            return int(self._cursor.read_text() or 0)
        except FileNotFoundError:
            return 0


def _parse(lines: list[str], path: Path) -> list[AlertEvent]:
    events = []
    for line in lines:
        try:
            events.append(AlertEvent.from_json(line))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            log.error("outbox.unreadable_event_dropped", path=str(path), error=str(exc)[:200], line=line[:200])
    return events
