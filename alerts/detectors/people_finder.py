"""People boxes in one frame: OpenCV's default HOG people detector run on the crop and scale of a ViewPlan.

HOG's weights ship inside OpenCV (`getDefaultPeopleDetector`, trained on the INRIA person set), so nothing is
downloaded. The scan is the pyramid that ViewPlan chose; the crop is padded to at least the window so OpenCV is
never handed an image smaller than the window (it crashes the process then, opencv#8793).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from alerts.detectors.people_view import HOG_WINDOW, LEVEL_STEP, ViewPlan

Image = npt.NDArray[np.uint8]
Boxes = npt.NDArray[np.float32]  # [n, 4] (x0, y0, x1, y1) in source pixels
HIT_THRESHOLD = 0.0  # SVM margin a window needs (OpenCV default)
GROUP_THRESHOLD = 1  # overlapping windows needed to keep a detection (OpenCV: 2); the tracker drops one-offs
PLATT = 2.0  # slope of the logistic map from SVM margin to confidence (Platt 1999), fitted by eye on vtest.avi
NMS_IOU = 0.3  # boxes of one person at neighbouring pyramid levels overlap by more than this
EDGE_PAD = 16  # work pixels added round the crop: a window whose person's feet touch the frame's edge fits
STRIDE = (8, 8)  # one HOG cell: the finest stride the descriptor supports without recomputation
FOOT_MARGIN = 16 / 128  # of the window height below the feet (and above the head) in the INRIA windows


@dataclass(frozen=True, slots=True)
class Found:
    """People found in one frame: `boxes` [n, 4] trimmed to the person (feet at the bottom edge) and clipped to
    the frame, source pixels;
    `confidence` [n] in 0..1 from the SVM margin m as 1 / (1 + exp(-PLATT * m)) (0.5 at OpenCV's threshold)."""

    boxes: Boxes
    confidence: npt.NDArray[np.float32]


class PeopleFinder:
    """Owns the HOG descriptors (one per pyramid depth in use); used from one worker thread at a time."""

    def __init__(self) -> None:
        self._hogs: dict[int, cv2.HOGDescriptor] = {}

    def find(self, image: Image, plan: ViewPlan) -> Found:
        """Boxes of people in `image` ([H, W, 3] uint8, already validated) scanned as `plan` says."""
        x0, y0, x1, y1 = plan.crop
        gray = np.asarray(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), np.uint8)  # [h, w]
        work = _scaled(gray, plan)  # one channel: a third of the gradient work, same people found on vtest.avi
        rects, weights = self._hog(plan.levels).detectMultiScale(
            work, hitThreshold=HIT_THRESHOLD, winStride=STRIDE, padding=(8, 8), scale=LEVEL_STEP,
            groupThreshold=GROUP_THRESHOLD)
        r = np.asarray(rects, np.float32).reshape(-1, 4)  # [n, 4] (x, y, w, h) padded work pixels
        r = (r - np.array([EDGE_PAD, EDGE_PAD, 0, 0], np.float32)) / plan.scale  # crop pixels
        m = np.asarray(weights, np.float32).reshape(-1)
        r, m = _suppress(r, m)
        trim = r[:, 3] * FOOT_MARGIN
        boxes = np.stack([r[:, 0] + x0, r[:, 1] + y0 + trim, r[:, 0] + r[:, 2] + x0,
                          r[:, 1] + r[:, 3] + y0 - trim], axis=1)
        h, w = image.shape[:2]  # a person cut by the frame's edge stands at the edge, not beyond it
        boxes = np.clip(boxes, 0, np.array([w, h, w, h], np.float32))
        return Found(boxes.astype(np.float32), (1 / (1 + np.exp(-PLATT * m))).astype(np.float32))

    def _hog(self, levels: int) -> cv2.HOGDescriptor:
        if levels not in self._hogs:
            hog = cv2.HOGDescriptor(HOG_WINDOW, (16, 16), (8, 8), (8, 8), 9, 1, -1.0,
                                    cv2.HOGDescriptor_L2Hys, 0.2, False, levels)
            hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
            self._hogs[levels] = hog
        return self._hogs[levels]


def _scaled(crop: Image, plan: ViewPlan) -> Image:
    """The [h, w] crop resized by plan.scale, padded (replicated edge) by EDGE_PAD all round and, on the right
    and bottom, further up to the HOG window."""
    h, w = crop.shape[:2]
    size = (max(1, round(w * plan.scale)), max(1, round(h * plan.scale)))
    interp = cv2.INTER_AREA if plan.scale < 1 else cv2.INTER_LINEAR
    scaled = np.asarray(cv2.resize(crop, size, interpolation=interp), np.uint8)
    pad_w, pad_h = max(0, HOG_WINDOW[0] - size[0]), max(0, HOG_WINDOW[1] - size[1])
    return np.asarray(cv2.copyMakeBorder(scaled, EDGE_PAD, EDGE_PAD + pad_h, EDGE_PAD, EDGE_PAD + pad_w,
                                         cv2.BORDER_REPLICATE), np.uint8)


def _suppress(rects: npt.NDArray[np.float32], margins: npt.NDArray[np.float32]
              ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Non-maximum suppression: of boxes overlapping by IoU > NMS_IOU only the strongest is kept (OpenCV's
    grouping leaves a person's boxes of neighbouring pyramid levels side by side)."""
    if len(rects) < 2:
        return rects, margins
    keep = np.ravel(cv2.dnn.NMSBoxes(rects.tolist(), np.maximum(margins, 0).tolist(), 0.0, NMS_IOU)).astype(int)
    return rects[keep], margins[keep]
