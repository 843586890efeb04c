"""Where to look on a belt at one working resolution: the belt straightened into a strip, cells along it, and the
background around it (used to measure camera shake).

The strip is the belt region resampled so that its columns run along the direction of travel (u) and its rows
across it (v), with V_PAD extra rows on each side for a shaken picture. Cells cut the strip into stretches of
about CELL_PX columns, from one edge of the belt to the other; cell 0 is the most upstream one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from alerts.region import region_mask

Point = tuple[float, float]
CELL_PX = 24  # working pixels along the belt per cell (48 px of a 640-wide frame: about a box)
MIN_CELLS, MAX_CELLS = 3, 16
ERODE_PX = 2  # the belt's outline is shrunk by this much: its edges move against the static frame
V_PAD = 4  # rows searched beyond the belt on each side: camera shake across the belt, working pixels
MIN_ROWS = 4  # a belt narrower than this (working pixels) cannot be measured
BACKGROUND_GAP_PX = 6  # background starts this far outside the belt


@dataclass(frozen=True)
class BeltGeometry:
    """At one working size. `to_image` [2, 3] maps strip (u, v) to image (x, y) (for WARP_INVERSE_MAP);
    `size` is the strip's (width, height) in pixels; `rows` the belt rows (start, stop) inside it; `edges` the
    cell boundaries along u, [cells + 1]; `background` [h, w] bool; `unit`, `normal` [2] unit vectors (dx, dy)."""

    to_image: npt.NDArray[np.float64]
    size: tuple[int, int]
    rows: tuple[int, int]
    edges: tuple[int, ...]
    background: npt.NDArray[np.bool_]
    unit: npt.NDArray[np.float64]
    normal: npt.NDArray[np.float64]

    @property
    def cells(self) -> int:
        return len(self.edges) - 1


def geometry(region: tuple[Point, ...], direction: Point, width: int, height: int) -> BeltGeometry | None:
    """The geometry at this size, or None when the belt covers too few pixels to be cut into cells."""
    return _geometry(tuple(region), (float(direction[0]), float(direction[1])), width, height)


@lru_cache(maxsize=32)
def _geometry(region: tuple[Point, ...], direction: Point, width: int, height: int) -> BeltGeometry | None:
    mask = region_mask(list(region), width, height).astype(np.uint8)
    belt = cv2.erode(mask, np.ones((2 * ERODE_PX + 1,) * 2, np.uint8)).astype(bool)
    unit = np.array(direction, np.float64) / math.hypot(*direction)
    normal = np.array([-unit[1], unit[0]])
    ys, xs = np.nonzero(belt)
    if xs.size < MIN_CELLS * MIN_ROWS * 4:
        return None
    u, v = xs * unit[0] + ys * unit[1], xs * normal[0] + ys * normal[1]
    origin = u.min() * unit + (v.min() - V_PAD) * normal  # image point of strip (0, 0)
    size = (math.ceil(u.max() - u.min()) + 1, math.ceil(v.max() - v.min()) + 1 + 2 * V_PAD)
    to_image = np.array([[unit[0], normal[0], origin[0]], [unit[1], normal[1], origin[1]]])
    rows = _full_rows(belt, to_image, size)
    n = int(np.clip(round(size[0] / CELL_PX), MIN_CELLS, MAX_CELLS))
    if rows is None or size[0] < n * 6:
        return None
    edges = tuple(round(i * size[0] / n) for i in range(n + 1))
    grown = cv2.dilate(mask, np.ones((2 * BACKGROUND_GAP_PX + 1,) * 2, np.uint8)).astype(bool)
    return BeltGeometry(to_image, size, rows, edges, ~grown, unit, normal)


def _full_rows(belt: npt.NDArray[np.bool_], to_image: npt.NDArray[np.float64],
               size: tuple[int, int]) -> tuple[int, int] | None:
    """The longest run of strip rows that lie on the belt along at least 80 % of their length."""
    strip = cv2.warpAffine(belt.astype(np.uint8), to_image, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    good = (strip.mean(axis=1) >= 0.8).tolist()
    good[:V_PAD] = [False] * V_PAD
    good[len(good) - V_PAD:] = [False] * V_PAD
    best, run = (0, 0), 0
    for i, ok in enumerate(good):
        run = run + 1 if ok else 0
        if run > best[1] - best[0]:
            best = (i - run + 1, i + 1)
    return best if best[1] - best[0] >= MIN_ROWS else None
