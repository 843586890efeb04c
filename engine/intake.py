"""Frames into groups, on the submitting threads: sample to the engine's fps, shrink, collect 4 frames per group.

Every frame is counted once: kept, or dropped by policy `above_fps` (it arrived sooner than 1/fps after the last
kept frame on the camera's own clock). Each kept frame is resized here to the model's input, with the reference's
filter (resize.py): a queued group holds 4 x S x S pixels whatever the camera's resolution.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from engine import metrics
from engine.resize import reference_resize
from ingest.frame import Frame

FRAMES_PER_GROUP = 4
_JITTER = 0.1  # fraction of a period a frame may come early and still be kept (camera clocks jitter)


class FpsSampler:
    """Keeps frames on a 1/fps grid of the frame times; resyncs after a gap or when the clock goes backwards."""

    def __init__(self, fps: float) -> None:
        self._period = 1.0 / fps
        self._due: float | None = None

    def keep(self, t: float) -> bool:
        due, period = self._due, self._period
        if due is not None and due - period * (1 + _JITTER) <= t < due - period * _JITTER:
            return False
        on_grid = due is not None and due - period * _JITTER <= t < due + period
        self._due = due + period if on_grid and due is not None else t + period
        return True

    def resume_after(self, t: float) -> None:
        """Continue as if the frame at `t` was the last one kept (frames taken back after a restart)."""
        self._due = t + self._period


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """Four kept frames waiting for the engine thread."""

    camera_id: str
    images: tuple[npt.NDArray[np.uint8], ...]  # 4 x [h, w, 3] BGR, shrunk
    t_first: float  # Unix seconds of the first frame
    t_last: float  # Unix seconds of the last frame
    t_ready: float = field(default_factory=time.monotonic)  # when the group was complete (lag is measured from it)


def shrink(image: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    """The frame as the model takes it: `side` x `side`, resized exactly as the reference does (resize.py), so a
    queued group holds no more than the model's input and the model's own preprocessing has nothing left to do."""
    return reference_resize(image, side)


@dataclass
class _Camera:
    sampler: FpsSampler
    frames: list[tuple[float, npt.NDArray[np.uint8]]] = field(default_factory=list)  # (t_wall, shrunk image)
    frames_in: int = 0
    above_fps: int = 0


class Intake:
    """Thread-safe: any ingest thread may call `add`. Owns the per-camera samplers and partial groups."""

    def __init__(self, fps: float, max_side: int) -> None:
        self._fps = fps
        self._max_side = max_side
        self._lock = threading.Lock()
        self._cameras: dict[str, _Camera] = {}

    def add(self, frame: Frame) -> PendingGroup | None:
        """Count the frame; return a group when this frame completes one."""
        with self._lock:
            cam = self._cameras.setdefault(frame.camera_id, _Camera(FpsSampler(self._fps)))
            cam.frames_in += 1
            kept = cam.sampler.keep(frame.t_wall)
            cam.above_fps += not kept
            metrics.FRAMES.labels(frame.camera_id, "kept" if kept else "above_fps").inc()
            if not kept:
                return None
            # shrunk one kept frame at a time (~1-2 ms for 1080p), so no caller ever pays for a whole group
            cam.frames.append((frame.t_wall, shrink(frame.image, self._max_side)))
            if len(cam.frames) < FRAMES_PER_GROUP:
                return None
            done, cam.frames = cam.frames, []
        return PendingGroup(frame.camera_id, tuple(image for _, image in done), done[0][0], done[-1][0])

    def take_pending(self) -> dict[str, list[tuple[float, npt.NDArray[np.uint8]]]]:
        """Remove and return every camera's kept frames that do not make a group yet (at stop)."""
        with self._lock:
            out = {cid: cam.frames for cid, cam in self._cameras.items() if cam.frames}
            for cam in self._cameras.values():
                cam.frames = []
        return out

    def put_back(self, camera_id: str, frames: list[tuple[float, npt.NDArray[np.uint8]]]) -> None:
        """Take back frames saved at the last stop: they start the camera's next group (at start, before frames)."""
        if not frames:
            return
        with self._lock:
            cam = self._cameras.setdefault(camera_id, _Camera(FpsSampler(self._fps)))
            cam.frames = list(frames[: FRAMES_PER_GROUP - 1]) + cam.frames
            cam.sampler.resume_after(frames[-1][0])

    def discard(self, camera_id: str) -> None:
        """Forget the camera's sampler, counts and partial group (it moved to another machine)."""
        with self._lock:
            self._cameras.pop(camera_id, None)

    def counts(self, camera_id: str) -> tuple[int, int]:
        """(frames submitted, frames dropped as above fps) for a camera."""
        with self._lock:
            cam = self._cameras.get(camera_id)
            return (cam.frames_in, cam.above_fps) if cam else (0, 0)

    def cameras(self) -> list[str]:
        with self._lock:
            return sorted(self._cameras)
