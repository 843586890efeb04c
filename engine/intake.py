"""Frames into groups, on the submitting threads: sample to the engine's fps, shrink, collect 4 frames per group.

Every frame is counted once: kept, or dropped by policy `above_fps` (it arrived sooner than 1/fps after the last
kept frame on the camera's own clock). Shrinking here bounds what a queued group holds (<= 2x the model's input
side, aspect kept) whatever the camera's resolution; the model still does its own bicubic resize.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from engine import metrics
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


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """Four kept frames waiting for the engine thread."""

    camera_id: str
    images: tuple[npt.NDArray[np.uint8], ...]  # 4 x [h, w, 3] BGR, shrunk
    t_first: float  # Unix seconds of the first frame
    t_last: float  # Unix seconds of the last frame
    t_ready: float = field(default_factory=time.monotonic)  # when the group was complete (lag is measured from it)


def shrink(image: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    """Downscale (area filter, aspect kept) so that no side exceeds `side`; smaller frames pass unchanged."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


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
