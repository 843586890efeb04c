"""Normalized regions (a box or a polygon in 0..1 coordinates) turned into pixel masks."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Mask = npt.NDArray[np.bool_]


def polygon(points: Sequence[Point]) -> tuple[Point, ...]:
    """A box [[x0, y0], [x1, y1]] becomes its four corners; a polygon stays as it is."""
    if len(points) == 2:
        (x0, y0), (x1, y1) = points
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return tuple((float(x), float(y)) for x, y in points)


def region_mask(points: Sequence[Point], width: int, height: int) -> Mask:
    """Pixels inside the region, [H, W] bool; cached because a rule asks for the same mask every tick."""
    return _mask(polygon(points), width, height)


@lru_cache(maxsize=64)
def _mask(corners: tuple[Point, ...], width: int, height: int) -> Mask:
    canvas = np.zeros((height, width), np.uint8)
    pixels = np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in corners], np.int32)
    cv2.fillPoly(canvas, [pixels], 1)
    mask = canvas.astype(bool)
    mask.flags.writeable = False  # shared through the cache: nobody may edit it
    return mask


def contains(points: Sequence[Point], x: float, y: float) -> bool:
    """Whether the normalized point (x, y) lies inside (or on the edge of) the region."""
    contour = np.array(polygon(points), np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (x, y), False) >= 0
