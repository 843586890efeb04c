"""Per-camera counters (written by the camera's worker and the WebRTC hand-off) and their frozen snapshot."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from ingest.buffer import BufferStats
from ingest.metrics import FRAMES_DROPPED, FRAMES_IN, FRAMES_SAMPLED, INPUT_FPS, SAMPLED_FPS

FPS_WINDOW_S = 5.0  # rates are measured over the last 5 s
FPS_EVENTS = 512  # bound on remembered timestamps (5 s at 100 fps)


@dataclass(frozen=True, slots=True)
class IngestStats:
    """What the API shows about a camera's ingest; `dropped` counts frames not kept, by reason."""

    camera_id: str
    state: str
    input_fps: float
    sampled_fps: float
    frames_in: int
    frames_sampled: int
    dropped: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    stalls: int = 0
    footage_errors: int = 0
    last_frame_t: float | None = None
    reason: str = ""
    buffer: BufferStats | None = None


class FpsMeter:
    """Events per second over the last FPS_WINDOW_S."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=FPS_EVENTS)

    def tick(self, now: float) -> None:
        self._times.append(now)

    def rate(self, now: float) -> float:
        recent = [t for t in list(self._times) if t >= now - FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / (recent[-1] - recent[0]), 2) if recent[-1] > recent[0] else 0.0


class CameraCounters:
    """Counters of one camera; implements SourceCounters. Thread-safe: the WebRTC hand-off counts on the loop."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self._lock = threading.Lock()
        self.frames_in = 0
        self.frames_sampled = 0
        self.footage_errors = 0
        self.last_frame_t: float | None = None
        self._dropped: dict[str, int] = {}
        self._input = FpsMeter()
        self._sampled = FpsMeter()

    def frame_in(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._input.tick(time.monotonic())
        FRAMES_IN.labels(camera_id=self.camera_id).inc()

    def drop(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + count
        FRAMES_DROPPED.labels(camera_id=self.camera_id, reason=reason).inc(count)

    def sampled(self, t_wall: float) -> None:
        with self._lock:
            self.frames_sampled += 1
            self.last_frame_t = t_wall
            self._sampled.tick(time.monotonic())
        FRAMES_SAMPLED.labels(camera_id=self.camera_id).inc()

    def footage_error(self) -> None:
        with self._lock:
            self.footage_errors += 1

    def rates(self) -> tuple[float, float]:
        """(input fps, sampled fps) now; also refreshes the gauges."""
        now = time.monotonic()
        with self._lock:
            rates = self._input.rate(now), self._sampled.rate(now)
        INPUT_FPS.labels(camera_id=self.camera_id).set(rates[0])
        SAMPLED_FPS.labels(camera_id=self.camera_id).set(rates[1])
        return rates

    def dropped(self) -> dict[str, int]:
        with self._lock:
            return dict(self._dropped)
