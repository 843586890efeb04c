"""WebRTC cameras: the hand-off from aiortc (event loop) to the camera's worker thread, and the source reading it."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

from ingest.errors import SourceError
from ingest.sources.base import POLL_S, Decoded, Wanted
from ingest.sources.counters import SourceCounters
from ingest.sources.decode import live_decoded
from ingest.sources.timeline import MonotonicTimeline

FEED_CAPACITY = 16  # frames; at 30 fps in, half a second of slack for a worker busy writing footage
DROP_POLICY = "DROP_OLDEST"  # a full hand-off discards its oldest frame; the loop never waits on a thread


@dataclass(frozen=True, slots=True)
class _Ended:
    reason: str


@dataclass(frozen=True, slots=True)
class _Item:
    session_id: str
    payload: Any  # an av.VideoFrame, or _Ended when the session is over


class WebRtcFeed:
    """One camera's hand-off. Written only on the event loop (by the WHIP handler); read by the worker thread."""

    def __init__(self, camera_id: str, counters: SourceCounters, capacity: int = FEED_CAPACITY) -> None:
        self.camera_id = camera_id
        self._counters = counters
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=capacity)
        self._session: str | None = None  # the publisher whose frames count; a replaced one is ignored

    @property
    def session(self) -> str | None:
        return self._session

    def attach(self, session_id: str) -> None:
        self._session = session_id

    def push(self, session_id: str, frame: Any) -> None:
        if session_id != self._session:
            return
        self._counters.frame_in()
        self._put(_Item(session_id, frame))

    def detach(self, session_id: str, reason: str) -> None:
        """The session ended; if it was the current one, the reader learns why."""
        if session_id == self._session:
            self._session = None
            self._put(_Item(session_id, _Ended(reason)))

    def _put(self, item: _Item) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                self._discard_oldest()

    def _discard_oldest(self) -> None:
        try:
            old = self._queue.get_nowait()
        except queue.Empty:
            return
        if not isinstance(old.payload, _Ended):
            self._counters.drop("queue_full")

    def get(self, timeout: float) -> _Item | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class WebRtcSource:
    """Waits (in CONNECTING) for a WHIP publisher, then reads its frames from the feed."""

    def __init__(self, camera_id: str, feed: WebRtcFeed, stop: threading.Event, first_frame_timeout_s: float) -> None:
        self._feed = feed
        self._stop = stop
        self._first_frame_timeout_s = first_frame_timeout_s
        self.where = f"camera {camera_id!r} (WebRTC)"
        self._camera_id = camera_id
        self._timeline = MonotonicTimeline(camera_id, self.where)  # a replacing publisher starts its clock anew

    @property
    def first_frame_timeout_s(self) -> float:
        return self._first_frame_timeout_s

    def open(self) -> None:
        self._timeline = MonotonicTimeline(self._camera_id, self.where)
        while self._feed.session is None:
            if self._stop.wait(POLL_S):
                raise SourceError(f"{self.where}: stopping while waiting for a WHIP publisher")

    def read(self, wanted: Wanted) -> Decoded | None:
        item = self._feed.get(POLL_S)
        if item is None:
            return None
        current = self._feed.session
        if isinstance(item.payload, _Ended):
            # An end matters only if nobody publishes now; a replacing publisher continues the same stream.
            if current is None:
                raise SourceError(f"{self.where}: the publisher {item.payload.reason}; POST a new offer to "
                                  f"/whip/{self._feed.camera_id} to resume")
            return None
        return live_decoded(item.payload, self._timeline) if item.session_id == current else None

    def close(self) -> None:
        """The session belongs to the publisher: a restart of this reader leaves it connected."""
