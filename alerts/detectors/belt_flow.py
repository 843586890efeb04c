"""Belt motion per cell, measured only where the picture lets motion be measured.

Per frame pair, the belt is straightened into a strip (belt_geometry) in both frames. Each cell of the earlier
strip, with half a cell of context on each side, is searched for in the later one along the direction of travel
(normalized cross-correlation, OpenCV matchTemplate, a few rows of slack across the belt for shake). A cell is
measured when its content has texture (grey-level spread TEXTURE_STD), matches well (MIN_NCC) and unambiguously
(no other shift within UNIQUE of the best: periodic slats or a train of equal boxes give no answer rather than a
wrong one), and the match does not move across the belt (a walker crossing the cell). A belt with nothing to
track reads "not measured", never "still". Camera motion is measured on the background by phase correlation and removed.

Why not dense optical flow (DIS) here: at 2 fps a belt moves 10-45 px between frames, and DIS's coarse-to-fine
pyramid drags a short stretch of exposed belt to the large static pile beside it, or aliases on a train of equal
boxes; both read as a stopped belt. A search along the one direction a belt can move has neither problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from alerts.detectors.belt_geometry import V_PAD, BeltGeometry, Point, geometry

WORK_WIDTH = 320  # pixels; a box still spans a dozen pixels of a 640x360 frame at this size
MIN_SIDE = 16  # working pixels: a frame smaller than this either way is skipped
SEARCH = 0.2  # the farthest a belt may move between two frames, in working frame widths (0.4 fw/s at 2 fps)
BACK_PX = 3  # shifts searched against the travel, working pixels (noise, shake)
TEXTURE_STD = 3.0  # grey levels: under this a cell's content is too flat to track (compression noise, dark rubber)
MIN_NCC = 0.6  # normalized cross-correlation of an accepted match
UNIQUE = 0.08  # the best match must beat any shift more than 2 px away by this much
ACROSS_PX = 1.5  # a match displaced more than this across the belt (after shake) is not belt motion
BACKGROUND_MIN = 0.1  # phase-correlation response under which the camera is taken as still
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
        along = _cells(geo, last[1], gray)  # [cells] working px per frame pair
        return PairReading(t, along / scale / (t - last[0]), image.shape[1])


def _cells(geo: BeltGeometry, prev: Gray, cur: Gray) -> Floats:
    """[cells] along-belt shift of each cell's content between the frames, working px (NaN: not measured)."""
    shake = _camera_motion(prev, cur, geo.background)  # [2] (dx, dy) px
    s0, s1 = _strip(geo, prev), _strip(geo, cur)
    forward = max(8, round(SEARCH * prev.shape[1]))
    along_shake, across_shake = float(shake @ geo.unit), float(shake @ geo.normal)
    out = np.full(geo.cells, np.nan)
    context = (geo.edges[1] - geo.edges[0]) // 2  # half a cell each side: equal boxes in a row differ in context
    for i in range(geo.cells):
        a, b = max(0, geo.edges[i] - context), min(geo.size[0], geo.edges[i + 1] + context)
        out[i] = _match(s0, s1, geo.rows, a, b, forward, across_shake) - along_shake
    return out


def _strip(geo: BeltGeometry, gray: Gray) -> npt.NDArray[np.float32]:
    """The belt straightened, [strip height, strip width] float32, lightly blurred against sensor noise."""
    strip = cv2.warpAffine(gray, geo.to_image, geo.size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(cv2.GaussianBlur(strip.astype(np.float32), (0, 0), 0.8), np.float32)


def _match(s0: npt.NDArray[np.float32], s1: npt.NDArray[np.float32], rows: tuple[int, int], a: int, b: int,
           forward: int, across_shake: float) -> float:
    """Shift along u (px, sub-pixel) of s0[rows, a:b] in s1; NaN when flat, poor, ambiguous or sideways."""
    template = s0[rows[0]:rows[1], a:b]
    if float(template.std()) < TEXTURE_STD:
        return float("nan")
    x0, x1 = max(0, a - BACK_PX), min(s1.shape[1], b + forward)
    if x1 - x0 < (b - a) + 3:
        return float("nan")
    search = s1[rows[0] - V_PAD:rows[1] + V_PAD, x0:x1]
    ncc = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)  # [2 * V_PAD + 1, shifts]
    curve, best_row = ncc.max(axis=0), ncc.argmax(axis=0)
    k = int(curve.argmax())
    c = float(curve[k])
    others = np.concatenate([curve[:max(0, k - 2)], curve[k + 3:]])
    if c < MIN_NCC or k in (0, curve.size - 1) or (others.size and float(others.max()) > c - UNIQUE):
        return float("nan")
    if abs(int(best_row[k]) - V_PAD - across_shake) > ACROSS_PX:
        return float("nan")
    return x0 - a + k + _vertex(curve[k - 1], c, curve[k + 1])


def _vertex(left: float, mid: float, right: float) -> float:
    """Sub-pixel offset (-0.5..0.5) of a parabola's peak through three samples."""
    denom = left - 2 * mid + right
    return 0.0 if denom >= 0 else float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _camera_motion(prev: Gray, cur: Gray, background: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """The picture's shift (dx, dy) px from the background by phase correlation; 0 when it says nothing."""
    if background.mean() < 0.2:
        return np.zeros(2)
    a, b = prev.astype(np.float32), cur.astype(np.float32)
    a[~background], b[~background] = float(a[background].mean()), float(b[background].mean())
    window = _hann(prev.shape)
    (dx, dy), response = cv2.phaseCorrelate(a, b, window)
    return np.array([dx, dy]) if response >= BACKGROUND_MIN else np.zeros(2)


def _hann(shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    return _hann_of(shape[1], shape[0])


@lru_cache(maxsize=8)
def _hann_of(width: int, height: int) -> npt.NDArray[np.float32]:
    window = np.asarray(cv2.createHanningWindow((width, height), cv2.CV_32F), np.float32)
    window.flags.writeable = False  # shared through the cache
    return window
