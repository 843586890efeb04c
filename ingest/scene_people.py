"""People walking and standing in a synthetic scene, with ground truth of where their feet are.

Each person follows a path of keyframes (time, feet x, feet y), moving in straight lines between them and
standing still where two keyframes share a position. They are drawn over any backdrop (the factory scene, or a
plain floor) as upright figures in the proportions of the eight-head canon, legs and arms swinging while they
walk. Like FactoryScene, a picture is a pure function of t.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Keyframe = tuple[float, float, float]  # (t in s, feet x, feet y), feet in fractions of the frame width/height
STRIDE_HZ = 1.0  # steps per second of a walking figure
DARK, SKIN = (35, 32, 30), (110, 140, 185)  # BGR trousers and skin


@dataclass(frozen=True, slots=True)
class Person:
    """One figure: `path` keyframes in time order, `height` as a fraction of the frame height, `shirt` BGR."""

    path: tuple[Keyframe, ...]
    height: float
    shirt: tuple[int, int, int] = (150, 60, 30)

    def feet(self, t: float) -> tuple[float, float] | None:
        """Feet (x, y) in fractions of the frame at t, or None when the person is not in the picture."""
        if not self.path or t < self.path[0][0] or t > self.path[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in zip(self.path, self.path[1:], strict=False):
            if t0 <= t <= t1:
                k = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + k * (x1 - x0), y0 + k * (y1 - y0)
        return self.path[-1][1], self.path[-1][2]

    def walking(self, t: float) -> bool:
        """Whether the person is moving at t (standing still between two equal keyframes is not walking)."""
        for (t0, x0, y0), (t1, x1, y1) in zip(self.path, self.path[1:], strict=False):
            if t0 <= t < t1:
                return (x0, y0) != (x1, y1)
        return False


class PeopleScene:
    """`people` drawn over `backdrop(t)` ([H, W, 3] uint8 BGR); nearer people (feet lower) are drawn last."""

    def __init__(self, backdrop: Callable[[float], Image], people: Sequence[Person]) -> None:
        self._backdrop = backdrop
        self._people = tuple(people)

    def render(self, t: float) -> Image:
        """The frame at t: [H, W, 3] uint8 BGR."""
        image = np.array(self._backdrop(t), dtype=np.uint8, copy=True)
        h, w = image.shape[:2]
        placed = [(feet, p) for p in self._people if (feet := p.feet(t)) is not None]
        for (fx, fy), person in sorted(placed, key=lambda item: item[0][1]):
            swing = math.sin(2 * math.pi * STRIDE_HZ * t) if person.walking(t) else 0.0
            _figure(image, fx * w, fy * h, person.height * h, swing, person.shirt)
        return image

    def inside(self, t: float, contains: Callable[[float, float], bool]) -> int:
        """Ground truth: how many people have their feet at a point where `contains(x, y)` holds at t."""
        return sum(1 for p in self._people if (feet := p.feet(t)) is not None and contains(*feet))


def floor(width: int, height: int, seed: int = 0) -> Callable[[float], Image]:
    """A plain backdrop: a wall above 40% of the height, a concrete floor below, a little sensor noise."""
    rng = np.random.default_rng([seed, 12])
    image = np.empty((height, width, 3), np.uint8)
    image[: round(0.4 * height)] = (170, 172, 168)
    image[round(0.4 * height):] = (120, 124, 128)
    image = np.asarray(np.clip(image + rng.integers(-6, 7, (height, width, 1)), 0, 255), np.uint8)
    return lambda t: image


def _figure(image: Image, x: float, feet: float, height: float, swing: float, shirt: tuple[int, int, int]) -> None:
    """An upright person of `height` px whose feet are at (x, feet); `swing` in -1..1 moves legs and arms."""
    head = height / 8  # the canon's unit: a standing adult is eight heads tall
    hip, shoulder, neck = feet - 4 * head, feet - 6.5 * head, feet - 7 * head
    step = 0.7 * head * swing
    limb = max(2, round(0.5 * head))
    for side in (-1, 1):
        cv2.line(image, _pt(x + side * 0.3 * head, hip), _pt(x + side * (0.35 * head + step), feet), DARK, limb)
        cv2.line(image, _pt(x + side * 0.95 * head, shoulder + 0.2 * head),
                 _pt(x + side * 1.15 * head - side * step * 0.8, hip + 0.3 * head), shirt, max(2, round(0.35 * head)))
    body = np.array([_pt(x - head, shoulder), _pt(x + head, shoulder), _pt(x + 0.8 * head, hip + 0.3 * head),
                     _pt(x - 0.8 * head, hip + 0.3 * head)], np.int32)
    cv2.fillConvexPoly(image, body, shirt)
    cv2.line(image, _pt(x, neck), _pt(x, shoulder), SKIN, max(2, round(0.3 * head)))
    cv2.ellipse(image, _pt(x, feet - 7.5 * head), (max(1, round(0.4 * head)), max(1, round(0.5 * head))),
                0, 0, 360, SKIN, -1)


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x), round(y)
