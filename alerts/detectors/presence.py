"""People in a zone with OpenCV's built-in HOG people detector, run at reduced size on the CPU.

The default detector's window is 64x128 pixels with the person about 96 pixels tall, so frames are scaled to
WORK_HEIGHT rows: people standing 50-70% of the frame height fill the window. The score is the fraction of the
last few frames in which at least `min_count` people had their feet inside the zone; one missed or spurious
frame then moves the score by a third, not from 0 to 1.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from alerts.region import contains
from config.rules import PresenceCondition
from ingest.frame import Frame

WORK_HEIGHT = 180
FRAMES_PER_SCORE = 3
HIT_THRESHOLD = 0.0  # OpenCV's default SVM margin; the bench shows no false people on the scene at this value


class PresenceDetector:
    """Counts people in one zone of one camera; caches counts by frame sequence number."""

    def __init__(self, condition: PresenceCondition) -> None:
        self._condition = condition
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        self._counts: OrderedDict[int, int] = OrderedDict()

    def score(self, frames: Sequence[Frame]) -> float | None:
        """Fraction of the newest FRAMES_PER_SCORE frames with enough people in the zone; None without frames."""
        recent = list(frames)[-FRAMES_PER_SCORE:]
        if not recent:
            return None
        hits = [self.count(f) >= self._condition.min_count for f in recent]
        return sum(hits) / len(hits)

    def count(self, frame: Frame) -> int:
        """People whose feet (bottom centre of the detection) are inside the zone."""
        if frame.seq not in self._counts:
            self._counts[frame.seq] = self._detect(frame.image)
            while len(self._counts) > 4 * FRAMES_PER_SCORE:
                self._counts.popitem(last=False)
        return self._counts[frame.seq]

    def _detect(self, image: npt.NDArray[np.uint8]) -> int:
        h, w = image.shape[:2]
        scale = min(1.0, WORK_HEIGHT / h)
        small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        boxes, _ = self._hog.detectMultiScale(small, hitThreshold=HIT_THRESHOLD, winStride=(8, 8),
                                              padding=(8, 8), scale=1.05)
        sh, sw = small.shape[:2]
        feet = [((x + bw / 2) / sw, min(1.0, (y + bh) / sh)) for x, y, bw, bh in np.asarray(boxes).reshape(-1, 4)]
        return sum(contains(self._condition.region, fx, fy) for fx, fy in feet)
