"""Input validation shared by every detector: a frame a detector cannot take is skipped, never a crash.

OpenCV aborts the whole process (SIGSEGV/SIGABRT, opencv#8793) on some inputs instead of raising, e.g. a HOG
scan of an image smaller than its window, so each detector states what it needs (`FrameNeeds`) and looks at a
frame only after `FrameGate.admit` said yes. A refused frame is counted in a metric by reason, the detector's
status says why, and the first refusal per camera, detector and reason is logged as one warning.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import structlog
from prometheus_client import Counter, Gauge

log = structlog.get_logger(__name__)

FRAMES_SKIPPED = Counter(
    "vigil_detector_frames_skipped_total", "Frames a detector could not take, by reason "
    "(type, dtype, channels, too_small, aspect)", ["camera_id", "detector", "reason"],
)
INPUT_OK = Gauge(
    "vigil_detector_input_ok", "1 when the detector took the camera's latest frame, 0 when it skipped it",
    ["camera_id", "detector"],
)
FRAMES_UNSCANNED = Counter(
    "vigil_detector_frames_unscanned_total", "Valid frames left unscanned to keep the detector within its CPU budget",
    ["camera_id", "detector"],
)
MAX_ASPECT = 8.0  # wider or taller than 8:1 is a mangled stream, not a camera picture


@dataclass(frozen=True, slots=True)
class FrameNeeds:
    """What a detector needs of a frame: at least `min_width` x `min_height` pixels, 3-channel uint8."""

    min_width: int
    min_height: int
    max_aspect: float = MAX_ASPECT


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """Why a frame was refused: `reason` is a metric label, `detail` a sentence for people."""

    reason: str
    detail: str


def check_frame(image: object, needs: FrameNeeds) -> FrameProblem | None:
    """None when `image` is a [H, W, 3] uint8 array that meets `needs`, else what is wrong with it."""
    if not isinstance(image, np.ndarray):
        return FrameProblem("type", f"a frame must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        return FrameProblem("dtype", f"a frame must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        return FrameProblem("channels", f"a frame must be [H, W, 3] (BGR), got shape {list(image.shape)}")
    h, w = image.shape[:2]
    if w < needs.min_width or h < needs.min_height:
        return FrameProblem("too_small", f"frame {w}x{h} is smaller than the {needs.min_width}x{needs.min_height} "
                            "this detector needs; use a camera stream of higher resolution")
    if max(w / h, h / w) > needs.max_aspect:
        return FrameProblem("aspect", f"frame {w}x{h} has an aspect ratio beyond {needs.max_aspect:g}:1; "
                            "the stream is probably mis-decoded")
    return None


class _WarnedOnce:
    """The (camera, detector, reason) triples already warned about, process-wide; guarded by a lock because
    detectors of several rules run in worker threads at once."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def first(self, key: tuple[str, str, str]) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


_WARNED = _WarnedOnce()


def warn_once(camera_id: str, detector: str, reason: str, detail: str, event: str = "detector.degraded") -> None:
    """Log `detail` as a warning the first time this camera, detector and reason come up in this process."""
    if _WARNED.first((camera_id, detector, reason)):
        log.warning(event, camera_id=camera_id, detector=detector, reason=reason, detail=detail)


class FrameGate:
    """One detector's door for one camera's frames; owned by that detector. `status` is 'ok' or why the
    latest frame was skipped."""

    def __init__(self, detector: str, needs: FrameNeeds) -> None:
        self._detector = detector
        self.needs = needs
        self.status = "ok"

    def admit(self, camera_id: str, image: object) -> bool:
        """True when the detector may look at `image`; otherwise counts, warns once and records the status."""
        problem = check_frame(image, self.needs)
        INPUT_OK.labels(camera_id, self._detector).set(problem is None)
        if problem is None:
            self.status = "ok"
            return True
        self.refuse(camera_id, problem)
        return False

    def refuse(self, camera_id: str, problem: FrameProblem) -> None:
        """Skip a frame for a reason only the detector can see (e.g. too small once scaled)."""
        FRAMES_SKIPPED.labels(camera_id, self._detector, problem.reason).inc()
        INPUT_OK.labels(camera_id, self._detector).set(0)
        self.status = f"skipped: {problem.detail}"
        warn_once(camera_id, self._detector, problem.reason, problem.detail, "detector.frame_skipped")
