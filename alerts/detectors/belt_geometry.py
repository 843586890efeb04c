"""Where to look on a belt at one working resolution: the belt's pixels, cells along its centre line, and the
background around it (used to cancel camera shake).

Cells cut the belt across its direction of travel, so each cell is a stretch of belt from one edge to the other;
cell 0 is the most upstream one. Cells are about as long as `CELL_PX` working pixels (a box or two long at the
usual camera distance) and between MIN_CELLS and MAX_CELLS in number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from alerts.region import region_mask

Point = tuple[float, float]
CELL_PX = 24  # working pixels along the belt per cell (48 px of a 640-wide frame)
MIN_CELLS, MAX_CELLS = 3, 16
ERODE_PX = 2  # the belt's outline is shrunk by this much: its edges move against the static frame
BACKGROUND_GAP_PX = 6  # background starts this far outside the belt (a shaken belt edge is not background)
MIN_CELL_PIXELS = 12  # a cell with fewer belt pixels than this is dropped


@dataclass(frozen=True)
class BeltGeometry:
    """At one working size (w, h): `cell` is [h, w] int16, the cell index of each belt pixel, -1 elsewhere;
    `background` is [h, w] bool; `unit` and `normal` are unit vectors (dx, dy) along and across the travel."""

    cell: npt.NDArray[np.int16]
    cells: int
    background: npt.NDArray[np.bool_]
    unit: npt.NDArray[np.float32]
    normal: npt.NDArray[np.float32]


def geometry(region: tuple[Point, ...], direction: Point, width: int, height: int) -> BeltGeometry | None:
    """The geometry at this size, or None when the belt covers too few pixels to be cut into cells."""
    return _geometry(tuple(region), (float(direction[0]), float(direction[1])), width, height)


@lru_cache(maxsize=32)
def _geometry(region: tuple[Point, ...], direction: Point, width: int, height: int) -> BeltGeometry | None:
    mask = region_mask(list(region), width, height).astype(np.uint8)
    kernel = np.ones((2 * ERODE_PX + 1, 2 * ERODE_PX + 1), np.uint8)
    belt = cv2.erode(mask, kernel).astype(bool)
    unit = np.array(direction, np.float32) / float(np.hypot(*direction))
    normal = np.array([-unit[1], unit[0]], np.float32)
    ys, xs = np.nonzero(belt)
    if xs.size < MIN_CELLS * MIN_CELL_PIXELS:
        return None
    u = xs * unit[0] + ys * unit[1]  # position along the travel, working pixels
    n = int(np.clip(round((u.max() - u.min()) / CELL_PX), MIN_CELLS, MAX_CELLS))
    index = np.minimum(((u - u.min()) / (u.max() - u.min() + 1e-6) * n).astype(np.int16), n - 1)
    cell = np.full((height, width), -1, np.int16)
    cell[ys, xs] = index
    if np.bincount(index, minlength=n).min() < MIN_CELL_PIXELS:
        return None
    grown = cv2.dilate(mask, np.ones((2 * BACKGROUND_GAP_PX + 1,) * 2, np.uint8)).astype(bool)
    for array in (cell,):
        array.flags.writeable = False  # shared through the cache
    return BeltGeometry(cell, n, ~grown, unit, normal)
