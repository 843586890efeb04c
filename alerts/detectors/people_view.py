"""Where and at what size to look for people: a crop around the zone and the scale that fits them to HOG.

OpenCV's default people detector scores 64x128 windows in which a person stands about HOG_PERSON_PX = 96 pixels
tall (Dalal & Triggs 2005, INRIA person set: 16 px of margin above and below). A person of p source pixels is
therefore found at scale 96 / p. The plan scales the crop so that the smallest expected person reaches 96 px
and limits the pyramid to the levels that reach the tallest one, so the work is spent only at sizes people
can have. Only the zone's neighbourhood is scanned: the zone's bounding box grown upwards by the tallest person
(whose feet stand in the zone) and sideways and downwards by a margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.detectors.frames import FrameProblem
from alerts.region import polygon

HOG_WINDOW = (64, 128)  # (width, height) of the default people detector's window, pixels
HOG_PERSON_PX = 96.0  # a person's height inside that window, pixels
MIN_PERSON_PX = 40.0  # below this many source pixels a person's limbs are 1-2 px: HOG sees only interpolation
MAX_UPSCALE = HOG_PERSON_PX / MIN_PERSON_PX
AUTO_PERSON_HEIGHT = (0.11, 0.6)  # of the frame height: from far-off CCTV (vtest.avi: 0.11-0.2) to a close camera
LEVEL_STEP = 1.05  # pyramid step between scanned scales; 1.1 costs 40% less and misses a fifth of vtest's people
MAX_WORK_PIXELS = 1_300_000  # the scaled crop's area at most, pixels: larger crops are scanned coarser
SCAN_PX_PER_S = 7_000_000  # CPU budget of one presence rule: HOG pixels scanned per second (bench/presence.py:
# ~35 ns per pixel on the loaded 2-core CI VM, so 7 Mpx/s is ~25% of one core); frames beyond it are not scanned
MARGIN = 0.25  # of the tallest person's height, added around the zone
WIDTH_PER_HEIGHT = 0.5  # a standing person's box is about half as wide as tall


@dataclass(frozen=True, slots=True)
class ViewPlan:
    """How one frame size is scanned. `crop` is (x0, y0, x1, y1) in source pixels; the crop is resized by
    `scale`, then scanned at `levels` scales from there down by LEVEL_STEP each. `seen` is the range of person
    heights (source pixels) this covers."""

    crop: tuple[int, int, int, int]
    scale: float
    levels: int
    seen: tuple[float, float]

    @property
    def cost_px(self) -> float:
        """Pixels HOG visits for one frame: the scaled crop's area summed over the pyramid's levels."""
        w, h = self.work_size
        shrink = LEVEL_STEP ** -2
        return w * h * (1 - shrink ** self.levels) / (1 - shrink)

    @property
    def interval_s(self) -> float:
        """Seconds between two scanned frames that keep the scan within SCAN_PX_PER_S."""
        return self.cost_px / SCAN_PX_PER_S

    @property
    def work_size(self) -> tuple[int, int]:
        """(width, height) of the scaled crop, at least the HOG window (smaller crops are padded)."""
        x0, y0, x1, y1 = self.crop
        return (max(HOG_WINDOW[0], round((x1 - x0) * self.scale)), max(HOG_WINDOW[1], round((y1 - y0) * self.scale)))


def plan_view(width: int, height: int, zone: Sequence[tuple[float, float]],
              person_height: tuple[float, float] | None) -> ViewPlan | FrameProblem:
    """The plan for frames of width x height, or why people of the expected size cannot be seen in them."""
    lo_frac, hi_frac = person_height or AUTO_PERSON_HEIGHT
    lo, hi = lo_frac * height, hi_frac * height  # person heights, source pixels
    if hi < MIN_PERSON_PX:
        return FrameProblem("too_small", f"frame {width}x{height}: a person at most {hi:.0f} px tall cannot be "
                            f"told apart (HOG needs >= {MIN_PERSON_PX:.0f} px); use a higher-resolution stream")
    crop = _crop(width, height, zone, hi)
    area = (crop[2] - crop[0]) * (crop[3] - crop[1])
    scale = min(HOG_PERSON_PX / max(lo, MIN_PERSON_PX), math.sqrt(MAX_WORK_PIXELS / area))
    smallest = HOG_PERSON_PX / scale
    levels = 1 + max(0, math.ceil(math.log(max(hi, smallest) / smallest) / math.log(LEVEL_STEP)))
    return ViewPlan(crop, scale, levels, (smallest, smallest * LEVEL_STEP ** (levels - 1)))


def _crop(width: int, height: int, zone: Sequence[tuple[float, float]], tallest: float) -> tuple[int, int, int, int]:
    xs = [x * width for x, _ in polygon(zone)]
    ys = [y * height for _, y in polygon(zone)]
    side = MARGIN * tallest + WIDTH_PER_HEIGHT * tallest / 2
    x0, x1 = max(0, math.floor(min(xs) - side)), min(width, math.ceil(max(xs) + side))
    y0 = max(0, math.floor(min(ys) - (1 + MARGIN) * tallest))
    y1 = min(height, math.ceil(max(ys) + MARGIN * tallest))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)
