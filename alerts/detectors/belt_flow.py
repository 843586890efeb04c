"""Belt motion per cell from dense optical flow (OpenCV DIS, Kroeger et al., ECCV 2016), only where the picture
lets motion be measured.

Per frame pair: both frames are reduced to WORK_WIDTH, brought to the same mean brightness (a light step is not
motion), and DIS flow is computed on the whole frame. The background's median flow (camera shake) is removed.
In each cell, only pixels with texture along the direction of travel count (a belt with nothing to track
reads "not measured", never "still"): a cell is measured when enough of them agree on one motion (small spread
along the belt, little motion across it: a walker crossing a cell moves the wrong way or incoherently).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from alerts.detectors.belt_geometry import BeltGeometry, Point, geometry

WORK_WIDTH = 320  # pixels; DIS here costs a few ms and a box still spans a dozen pixels at 640x360
MIN_SIDE = 16  # working pixels: a frame smaller than this either way is skipped
TEXTURE_MIN = 2.5  # grey levels per working pixel along the travel: above sensor noise after a 1-px blur
MIN_TEXTURED = 0.08  # share of a cell's pixels that must be textured (at least MIN_TEXTURED_PX of them)
MIN_TEXTURED_PX = 6
SPREAD_PX = 0.35  # allowed spread (median absolute deviation) of along-flow in a cell: px + 25 % of the motion
ACROSS_PX = 0.35  # allowed motion across the belt in a cell: px + 50 % of the motion along it
BACKGROUND_MIN_PX = 40  # textured background pixels needed to estimate camera motion
Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]


class FrameRejected(ValueError):
    """A frame the detector cannot take (size, shape, dtype); the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class PairReading:
    """One frame pair: `speeds` [cells] along-belt speed in px/s of the source frame (NaN: not measured)."""

    t: float
    speeds: Floats
    source_width: int


def reduce(image: npt.NDArray[np.uint8]) -> tuple[Gray, float]:
    """Greyscale at working size and the scale from source to working pixels; FrameRejected when unusable."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.dtype != np.uint8:
        raise FrameRejected(f"expected a uint8 image [H, W] or [H, W, C], got {getattr(image, 'shape', None)}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise FrameRejected(f"expected 1, 3 or 4 channels, got {image.shape[2]}")
    h, w = image.shape[:2]
    scale = min(1.0, WORK_WIDTH / w) if w else 0.0
    size = (round(w * scale), round(h * scale))
    if min(size) < MIN_SIDE:
        raise FrameRejected(f"frame {w}x{h} is too small to measure a belt (under {MIN_SIDE} px at work size)")
    gray: Gray = image if image.ndim == 2 else _gray(image)
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
    return np.ascontiguousarray(small, dtype=np.uint8), scale


def _gray(image: npt.NDArray[np.uint8]) -> Gray:
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), code), np.uint8)


class FlowMeter:
    """Measures consecutive frames of one camera for one belt. Owned by one detector; not thread-safe."""

    def __init__(self, region: Sequence[Point], direction: Point) -> None:
        self._region = tuple((float(x), float(y)) for x, y in region)
        self._direction = direction
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._last: tuple[float, Gray] | None = None

    def measure(self, t: float, image: npt.NDArray[np.uint8]) -> PairReading | None:
        """The reading between the previous frame and this one; None for the first frame or after a size change.
        Raises FrameRejected for a frame it cannot take (the previous frame is kept)."""
        gray, scale = reduce(image)
        geo = geometry(self._region, self._direction, gray.shape[1], gray.shape[0])
        if geo is None:
            raise FrameRejected(f"the belt region covers too few pixels at {image.shape[1]}x{image.shape[0]}")
        last, self._last = self._last, (t, gray)
        if last is None or last[1].shape != gray.shape or t <= last[0]:
            return None
        along = self._cells(geo, last[1], gray)  # [cells] working px per frame pair
        return PairReading(t, along / scale / (t - last[0]), image.shape[1])

    def _cells(self, geo: BeltGeometry, prev: Gray, cur: Gray) -> Floats:
        prev = _match_brightness(prev, cur)
        flow = np.asarray(self._flow.calc(prev, cur, None), np.float32)  # type: ignore[call-overload]  # [h, w, 2] px
        blurred = cv2.GaussianBlur(prev, (0, 0), 1.0).astype(np.float32)
        gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3) / 8.0  # grey levels per pixel
        gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        textured = np.abs(gx * geo.unit[0] + gy * geo.unit[1]) >= TEXTURE_MIN  # [h, w]
        flow -= _camera_motion(flow, textured | (np.hypot(gx, gy) >= TEXTURE_MIN), geo.background)
        along = flow @ geo.unit  # [h, w]
        across = flow @ geo.normal
        out = np.full(geo.cells, np.nan)
        picked = textured & (geo.cell >= 0)
        cells, a, c = geo.cell[picked], along[picked], across[picked]
        totals = np.bincount(geo.cell[geo.cell >= 0], minlength=geo.cells)
        for i in range(geo.cells):
            out[i] = _cell_motion(a[cells == i], c[cells == i], int(totals[i]))
        return out


def _match_brightness(prev: Gray, cur: Gray) -> Gray:
    """`prev` scaled to `cur`'s mean brightness: a global light step or dimming then reads as no motion."""
    m_prev, m_cur = float(prev.mean()), float(cur.mean())
    if m_prev < 1.0 or abs(m_cur / m_prev - 1.0) < 0.02:
        return prev
    return np.asarray(cv2.convertScaleAbs(prev, alpha=m_cur / m_prev), np.uint8)


def _camera_motion(flow: npt.NDArray[np.float32], textured: npt.NDArray[np.bool_],
                   background: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Median flow of the textured background, [2] px: what the whole picture did (shake); 0 if unknown."""
    picked = flow[textured & background]  # [n, 2]
    if len(picked) < BACKGROUND_MIN_PX:
        return np.zeros(2, np.float32)
    return np.asarray(np.median(picked, axis=0), np.float32)


def _cell_motion(along: npt.NDArray[np.float32], across: npt.NDArray[np.float32], total: int) -> float:
    """The cell's along-belt motion in working px, or NaN when too little texture or no coherent motion."""
    if along.size < max(MIN_TEXTURED_PX, MIN_TEXTURED * total):
        return float("nan")
    m = float(np.median(along))
    spread = float(np.median(np.abs(along - m)))
    if spread > SPREAD_PX + 0.25 * abs(m) or abs(float(np.median(across))) > ACROSS_PX + 0.5 * abs(m):
        return float("nan")
    return m
