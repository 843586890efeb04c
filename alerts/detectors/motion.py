"""Motion energy inside a region from dense optical flow (OpenCV DIS) at reduced resolution.

The energy is a speed in frame widths per second (the unit of SyntheticSource.belt_speed). With a belt
direction it is the flow component along that direction, so a stopped belt reads ~0 even when boxes or people
move across it, and a moving belt under stuck boxes still reads its speed; without one it is the flow magnitude.
Per frame pair the 75th percentile over the region is taken (the belt need only cover a quarter of the region),
and the energy is the mean over the pairs of the last `window_s` seconds: camera shake moves the whole picture
back and forth, so its along-belt contributions cancel in that mean while a belt's accumulate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from alerts.detectors.frames import FrameGate, FrameNeeds
from alerts.region import region_mask
from config.rules import MotionCondition
from ingest.frame import Frame

WORK_WIDTH = 160  # pixels; flow at this width costs ~1 ms and still resolves a belt's slats
PERCENTILE = 75.0
STALE_WINDOWS = 3.0  # no new frame pair for this many windows: the video says nothing about now
NEEDS = FrameNeeds(min_width=16, min_height=16)  # with the 8:1 aspect bound, >= 20 rows once reduced (DIS needs 8)
Gray = npt.NDArray[np.uint8]


class MotionDetector:
    """Scores one camera's frames for one motion condition. Fed frames in order; owned by one rule slot."""

    def __init__(self, condition: MotionCondition, window_s: float) -> None:
        self._condition = condition
        self._window_s = window_s
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._gate = FrameGate("motion", NEEDS)
        self._last: tuple[float, Gray] | None = None
        self._speeds: deque[tuple[float, float]] = deque(maxlen=256)  # (t_wall of the pair's second frame, speed)
        direction = condition.direction
        self._unit = None if direction is None else np.array(direction, np.float32) / float(np.hypot(*direction))

    @property
    def status(self) -> str:
        """'ok', or why the newest frame was skipped."""
        return self._gate.status

    def update(self, frames: Sequence[Frame]) -> None:
        """Measure the flow between each new frame and the one before it; frames it cannot take are skipped."""
        for frame in frames:
            if not self._gate.admit(frame.camera_id, frame.image):
                continue
            gray = _reduce(frame.image)
            if self._last is not None and frame.t_wall > self._last[0] and self._last[1].shape == gray.shape:
                speed = self._speed(self._last[1], gray, frame.t_wall - self._last[0])
                self._speeds.append((frame.t_wall, speed))
            self._last = (frame.t_wall, gray)

    def energy(self, now: float) -> float | None:
        """Mean speed over the pairs of the window ending at the newest pair; None when no pair is fresh.

        The window ends at the newest frame rather than at `now`, so a camera whose frames arrive late still
        gets a score; a camera with no frame pair in the last STALE_WINDOWS windows gets none.
        """
        if not self._speeds or self._speeds[-1][0] < now - STALE_WINDOWS * self._window_s:
            return None
        newest = self._speeds[-1][0]
        return float(np.mean([speed for t, speed in self._speeds if t > newest - self._window_s]))

    def score(self, energy: float) -> float:
        """0..1, exactly 0.5 at the configured bound: below/(below+e) for 'below', e/(e+above) for 'above'."""
        e = max(energy, 0.0)
        below, above = self._condition.below, self._condition.above
        if below is not None:
            return 1.0 if below + e == 0 else below / (below + e)
        assert above is not None  # the config allows exactly one bound
        return 0.0 if above + e == 0 else e / (e + above)

    def _speed(self, prev: Gray, cur: Gray, dt: float) -> float:
        flow = np.asarray(self._flow.calc(prev, cur, None), np.float32)  # type: ignore[call-overload]  # [h, w, 2] (dx, dy) px
        h, w = cur.shape
        inside = flow[region_mask(self._condition.region, w, h)]  # [n, 2]
        if inside.size == 0:
            return 0.0
        along = inside @ self._unit if self._unit is not None else np.hypot(inside[:, 0], inside[:, 1])
        return float(np.percentile(along, PERCENTILE) / w / dt)


def _reduce(image: npt.NDArray[np.uint8]) -> Gray:
    h, w = image.shape[:2]
    size = (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
