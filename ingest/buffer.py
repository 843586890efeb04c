"""FrameBuffer: a fixed-capacity ring of one camera's sampled frames, one writer and many readers by sequence."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ingest.frame import Frame
from ingest.metrics import BUFFER_EVICTED, BUFFER_MISSED

DROP_POLICY = "DROP_OLDEST"  # a full ring overwrites its oldest frame; the writer never waits for readers


@dataclass(frozen=True, slots=True)
class BufferStats:
    capacity: int
    size: int
    next_seq: int
    evicted: int  # frames overwritten by newer ones (normal turnover once the ring is full)
    missed: int  # frames readers asked for after they were evicted: those readers fell behind


class FrameBuffer:
    """Ring of the last `capacity` frames. Thread-safe for one writer (the camera's worker) and any readers."""

    def __init__(self, camera_id: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"camera {camera_id!r}: buffer capacity must be at least 1 (got {capacity})")
        self.camera_id = camera_id
        self.capacity = capacity
        self._slots: list[Frame | None] = [None] * capacity
        self._next_seq = 0
        self._evicted = 0
        self._missed = 0
        self._lock = threading.Lock()  # held only for slot bookkeeping, never across I/O

    @property
    def next_seq(self) -> int:
        """The sequence number the next appended frame must carry."""
        return self._next_seq

    def append(self, frame: Frame) -> None:
        if frame.seq != self._next_seq or frame.camera_id != self.camera_id:
            raise ValueError(f"camera {self.camera_id!r}: expected frame seq {self._next_seq} of this camera, "
                             f"got seq {frame.seq} of {frame.camera_id!r}")
        with self._lock:
            slot = frame.seq % self.capacity
            if self._slots[slot] is not None:
                self._evicted += 1
                BUFFER_EVICTED.labels(camera_id=self.camera_id).inc()
            self._slots[slot] = frame
            self._next_seq += 1

    def _oldest_seq(self) -> int:
        return max(0, self._next_seq - self.capacity)

    def since(self, seq: int) -> list[Frame]:
        """Frames with sequence >= seq still held, oldest first; frames already evicted are counted as missed."""
        with self._lock:
            oldest, end = self._oldest_seq(), self._next_seq
            start = max(seq, oldest)
            if seq < oldest:
                self._missed += oldest - seq
                BUFFER_MISSED.labels(camera_id=self.camera_id).inc(oldest - seq)
            return self._collect(range(start, end))

    def _collect(self, seqs: range) -> list[Frame]:
        out = []
        for s in seqs:
            frame = self._slots[s % self.capacity]
            if frame is not None:
                out.append(frame)
        return out

    def latest(self) -> Frame | None:
        with self._lock:
            return self._slots[(self._next_seq - 1) % self.capacity] if self._next_seq else None

    def window(self, t0_wall: float, t1_wall: float) -> list[Frame]:
        """Frames whose wall time lies in [t0_wall, t1_wall], oldest first."""
        with self._lock:
            held = self._collect(range(self._oldest_seq(), self._next_seq))
        return [f for f in held if t0_wall <= f.t_wall <= t1_wall]

    def stats(self) -> BufferStats:
        with self._lock:
            size = self._next_seq - self._oldest_seq()
            return BufferStats(self.capacity, size, self._next_seq, self._evicted, self._missed)
