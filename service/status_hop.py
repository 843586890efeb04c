"""Hands camera statuses from ingest's threads to an event loop's queue."""

from __future__ import annotations

import asyncio
import contextlib

from ingest.status import CameraStatus


class StatusHop:
    """Ingest emits statuses from its threads; this hops each one onto the event loop's queue (dropped if full)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: asyncio.Queue[CameraStatus]) -> None:
        self._loop = loop
        self._sink = sink

    def __call__(self, status: CameraStatus) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing: the status no longer matters
            self._loop.call_soon_threadsafe(self._put, status)

    def _put(self, status: CameraStatus) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._sink.put_nowait(status)
