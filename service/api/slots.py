"""A bound on open long-lived responses (live views, alert streams), and the response that holds a slot."""

from __future__ import annotations

from collections.abc import AsyncIterator

from prometheus_client import Counter, Gauge
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from service.api.errors import Unavailable


class Slots:
    """Counts the open responses of one kind; event-loop owned. `what` names them in the refusal, plural."""

    def __init__(self, limit: int, what: str, refused_counter: Counter, open_gauge: Gauge) -> None:
        self.limit = limit
        self.open = 0
        self._what = what
        self._refused = refused_counter
        self._gauge = open_gauge

    def acquire(self) -> None:
        """Take a slot; raises Unavailable (503) when `limit` are already open."""
        if self.open >= self.limit:
            self._refused.inc()
            raise Unavailable(f"{self.limit} {self._what} are already open; close a console tab and retry")
        self.open += 1
        self._gauge.set(self.open)

    def release(self) -> None:
        self.open -= 1
        self._gauge.set(self.open)


class SlotResponse(StreamingResponse):
    """Releases its slot however the stream ends: finished, client gone, or the server stopping. Never cached."""

    def __init__(self, content: AsyncIterator[str] | AsyncIterator[bytes], media_type: str, slots: Slots) -> None:
        super().__init__(content, media_type=media_type,
                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.release()
