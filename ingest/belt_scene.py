"""Conveyor scenes for the conveyor detector's checks: a belt in any direction, with ground truth.

A belt is drawn in its own coordinates (a strip: u along the travel, v across it), then placed in the frame by
one affine map, so the same code draws belts moving right, or along any of the four diagonals. Everything is a
pure function of (spec, t): any instant can be rendered in any order, and two renders of one instant are
byte-identical.

Event kinds (ground truth): `stop` (belt speed 0), `slow` (belt at `SLOW_FACTOR` of its speed), `pileup` (boxes
stick at a point while the belt keeps running; the pile grows upstream as boxes arrive), `empty` (no box is
loaded during the span), `light_step` (brightness jumps to `level` and back at the end), `dim` (brightness
ramps down to `level` over 10 s, stays, and ramps back), `shake` (the camera shakes), `worker` (a person stands
in front of the belt, swaying), `walker` (a person walks across the picture).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Kind = Literal["stop", "slow", "pileup", "empty", "light_step", "dim", "shake", "worker", "walker"]
Texture = Literal["strong", "weak", "dark"]

SLOW_FACTOR = 0.25
REF_WIDTH = 640.0  # speeds in a BeltSpec are pixels per second at this frame width
SHAKE_PX = 6.0  # shake amplitude at REF_WIDTH, pixels
RAMP_S = 10.0  # a `dim` event ramps over this long
NOISE_FRAMES = 8  # sensor noise: a bank of frames, one picked per instant
PILE_AT = 0.7  # a pile-up's wedged box stops this far along the visible belt


@dataclass(frozen=True, slots=True)
class BeltEvent:
    kind: Kind
    start_s: float
    duration_s: float
    level: float = 0.55  # light_step / dim: brightness factor

    def covers(self, t: float) -> bool:
        return self.start_s <= t < self.start_s + self.duration_s

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True, slots=True)
class BeltSpec:
    """One scene. `angle_deg` is the direction of travel in the picture: 0 right, 45 down-right, 135 down-left,
    -45 up-right, -135 up-left (image y grows downwards)."""

    seed: int
    duration_s: float
    angle_deg: float = 0.0
    speed_px_s: float = 40.0  # belt surface speed in pixels per second at REF_WIDTH
    texture: Texture = "strong"
    box_gap_s: float = 5.0  # mean time between two boxes being loaded
    width: int = 640
    height: int = 360
    events: tuple[BeltEvent, ...] = ()

    @property
    def direction(self) -> tuple[float, float]:
        """Unit travel direction in pixel coordinates (x right, y down)."""
        a = math.radians(self.angle_deg)
        return (round(math.cos(a), 6), round(math.sin(a), 6))


@dataclass(frozen=True, slots=True)
class _Box:
    loaded_at: float
    length: float  # along the belt, belt pixels
    across: float  # fraction of the belt width
    color: tuple[int, int, int]


class BeltScene:
    """Renders a BeltSpec at any t (seconds) and says which events are in progress."""

    def __init__(self, spec: BeltSpec) -> None:
        self.spec = spec
        self._scale = spec.width / REF_WIDTH
        self._across = round(0.17 * spec.height)
        self._length = self._fit_length()
        self._background = _background(spec.seed, spec.width, spec.height)
        self._texture = _texture(spec.seed, spec.texture, self._length * 6, self._across)
        noise = np.random.default_rng([spec.seed, 9]).normal(0, 2.0, (NOISE_FRAMES, spec.height, spec.width, 1))
        noise = np.repeat(np.clip(np.round(noise), -127, 127), 3, axis=3)
        self._noise_up = np.maximum(noise, 0).astype(np.uint8)  # added and subtracted with saturation (fast)
        self._noise_down = np.maximum(-noise, 0).astype(np.uint8)
        self._boxes = _load_boxes(spec, self._scale)
        self._matrix = self._placement()
        self._mask = self._belt_mask()

    # ---- geometry and ground truth ------------------------------------------------------------------------

    def region(self, inset: float = 0.0) -> list[tuple[float, float]]:
        """The belt's corners in normalized image coordinates, shrunk by `inset` of the belt width on each side."""
        d = inset * self._across
        corners = [(d, d), (self._length - d, d), (self._length - d, self._across - d), (d, self._across - d)]
        pts = cv2.transform(np.array([corners], np.float64), self._matrix)[0]
        return [(round(float(x) / self.spec.width, 4), round(float(y) / self.spec.height, 4)) for x, y in pts]

    def active(self, t: float) -> frozenset[str]:
        return frozenset(e.kind for e in self.spec.events if e.covers(t))

    def offset(self, t: float) -> float:
        """Belt travel by t, belt pixels: the speed integrated over time, less the stopped and slowed spells."""
        lost = 0.0
        for e in self.spec.events:
            factor = 0.0 if e.kind == "stop" else SLOW_FACTOR if e.kind == "slow" else 1.0
            lost += (1.0 - factor) * max(0.0, min(t, e.end_s) - e.start_s)
        return self.spec.speed_px_s * self._scale * (max(t, 0.0) - lost)

    # ---- rendering ----------------------------------------------------------------------------------------

    def render(self, t: float) -> Image:
        """[H, W, 3] uint8 BGR."""
        strip = self._strip(t)
        warped = cv2.warpAffine(strip, self._matrix, (self.spec.width, self.spec.height), flags=cv2.INTER_LINEAR)
        image = self._background.copy()
        image[self._mask] = warped[self._mask]
        for e in self.spec.events:
            if e.kind in ("worker", "walker") and e.covers(t):
                self._person(image, e, t)
        image = self._light(image, t)
        if any(e.kind == "shake" and e.covers(t) for e in self.spec.events):
            image = self._shake(image, t)
        k = round(t * 7.3) % NOISE_FRAMES
        return np.asarray(cv2.subtract(cv2.add(image, self._noise_up[k]), self._noise_down[k]), np.uint8)

    def _strip(self, t: float) -> Image:
        """The visible belt in belt coordinates, [across, length, 3]: texture scrolled by the travel, then boxes."""
        off = self.offset(t)
        cols = (np.arange(self._length) - round(off)) % self._texture.shape[1]
        strip = np.ascontiguousarray(self._texture[:, cols])
        for front, box in self._box_positions(t, off):
            self._draw_box(strip, front, box)
        return strip

    def _box_positions(self, t: float, off: float) -> list[tuple[float, _Box]]:
        """(front u, box) of every box on the visible belt, pile-ups applied."""
        piles = [e for e in self.spec.events if e.kind == "pileup" and t >= e.start_s]
        held = self._held(piles[-1], t) if piles else {}
        out: list[tuple[float, _Box]] = []
        for i, box in enumerate(self._boxes):
            if box.loaded_at > t:
                break
            front = held.get(i, off - self.offset(box.loaded_at))
            if -box.length < front < self._length + box.length:
                out.append((front, box))
        return out

    def _held(self, pile: BeltEvent, t: float) -> dict[int, float]:
        """Fronts of the boxes a pile-up holds: the first box to reach the wedge stops there, each later one stops
        against the one before; at the end of the pile-up they all move on with the belt."""
        at = min(t, pile.end_s)
        off, wedge = self.offset(at), PILE_AT * self._length
        fronts: dict[int, float] = {}
        limit = wedge
        for i, box in enumerate(self._boxes):
            if box.loaded_at > at:
                break
            if self.offset(pile.start_s) - self.offset(box.loaded_at) > wedge:
                continue  # already past the wedge when it jammed: carried away
            fronts[i] = min(off - self.offset(box.loaded_at), limit)
            limit = fronts[i] - box.length - 2.0 * self._scale
        moved = self.offset(t) - off
        return {i: f + moved for i, f in fronts.items()}

    def _draw_box(self, strip: Image, front: float, box: _Box) -> None:
        v0 = round(self._across * (1 - box.across) / 2)
        v1 = self._across - v0
        u0, u1 = round(front - box.length), round(front)
        cv2.rectangle(strip, (u0, v0), (u1, v1), box.color, -1)
        cv2.rectangle(strip, (u0, v0), (u1, v1), (40, 50, 60), 2)
        mid = (u0 + u1) // 2
        cv2.line(strip, (mid, v0), (mid, v1), (70, 110, 150), 3)  # tape
        cv2.rectangle(strip, (u0 + 4, v0 + 4), (u0 + max(6, (u1 - u0) // 3), (v0 + v1) // 2), (235, 235, 235), -1)

    def _fit_length(self) -> int:
        """The longest belt whose band fits inside 92 % of the frame in both directions."""
        a = math.radians(self.spec.angle_deg)
        c, s = abs(math.cos(a)), abs(math.sin(a))
        room = [(0.92 * self.spec.width - self._across * s) / c if c > 1e-6 else math.inf,
                (0.92 * self.spec.height - self._across * c) / s if s > 1e-6 else math.inf]
        return round(min(room))

    def _placement(self) -> npt.NDArray[np.float64]:
        """Affine map belt (u, v) → image (x, y): rotate by the travel angle about the frame's centre."""
        a = math.radians(self.spec.angle_deg)
        c, s = math.cos(a), math.sin(a)
        cx, cy = self.spec.width / 2, self.spec.height / 2
        u0, v0 = self._length / 2, self._across / 2
        return np.array([[c, -s, cx - c * u0 + s * v0], [s, c, cy - s * u0 - c * v0]], np.float64)

    def _belt_mask(self) -> npt.NDArray[np.bool_]:
        canvas = np.zeros((self.spec.height, self.spec.width), np.uint8)
        corners = np.array([[(0, 0), (self._length, 0), (self._length, self._across), (0, self._across)]], np.float64)
        pts = cv2.transform(corners, self._matrix)[0]
        cv2.fillConvexPoly(canvas, np.round(pts).astype(np.int32), 1)
        return canvas.astype(bool)

    def _person(self, image: Image, e: BeltEvent, t: float) -> None:
        w, h = self.spec.width, self.spec.height
        if e.kind == "walker":
            cx = w * (-0.1 + 1.2 * (t - e.start_s) / e.duration_s)
            sway = 0.0
        else:
            cx = w * (0.3 + 0.4 * _unit(self.spec.seed, 11, int(e.start_s)))
            sway = 3.0 * self._scale * math.sin(2 * math.pi * 0.4 * t)
        _draw_person(image, cx + sway, 0.97 * h, 0.6 * h, t, walking=e.kind == "walker")

    def _light(self, image: Image, t: float) -> Image:
        gain = 1.0
        for e in self.spec.events:
            if e.kind == "light_step" and e.covers(t):
                gain *= e.level
            elif e.kind == "dim" and e.covers(t):
                ramp = min(1.0, (t - e.start_s) / RAMP_S, (e.end_s - t) / RAMP_S)
                gain *= 1.0 - (1.0 - e.level) * ramp
        return image if gain == 1.0 else np.asarray(cv2.convertScaleAbs(image, alpha=gain), np.uint8)

    def _shake(self, image: Image, t: float) -> Image:
        dx, dy = np.random.default_rng([self.spec.seed, 7, round(t * 100)]).uniform(-1, 1, 2) * SHAKE_PX * self._scale
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        size = (self.spec.width, self.spec.height)
        return np.asarray(cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE), np.uint8)


def _unit(seed: int, salt: int, i: int) -> float:
    return float(np.random.default_rng([seed, salt, i & 0xFFFFFFFF]).uniform())


def _load_boxes(spec: BeltSpec, scale: float) -> list[_Box]:
    """Boxes loaded at random gaps (0.4x to 1.6x the mean), none during an `empty` span."""
    rng = np.random.default_rng([spec.seed, 3])
    boxes, t = [], -30.0  # boxes loaded before t = 0 are already on the belt at the start
    while t < spec.duration_s:
        length, across = rng.uniform(28, 48) * scale, rng.uniform(0.45, 0.75)
        t += max(spec.box_gap_s * rng.uniform(0.4, 1.6), (length + 12 * scale) / (spec.speed_px_s * scale))
        color = (int(rng.integers(60, 110)), int(rng.integers(110, 170)), int(rng.integers(150, 220)))
        if not any(e.kind == "empty" and e.covers(t) for e in spec.events):
            boxes.append(_Box(t, length, across, color))
    return boxes


def _background(seed: int, w: int, h: int) -> Image:
    """A wall, a floor and fixed clutter: static, so any motion in a frame comes from the scene."""
    rng = np.random.default_rng([seed, 1])
    image = np.empty((h, w, 3), np.uint8)
    image[: h // 3] = (150, 155, 150)
    image[h // 3:] = (95, 100, 105)
    image = np.asarray(np.clip(image.astype(np.int16) + rng.integers(-10, 11, (h, w, 1)), 0, 255), np.uint8)
    for _ in range(10):
        x, y = int(rng.integers(0, w - w // 10)), int(rng.integers(0, h - h // 8))
        shade = tuple(int(c) for c in rng.integers(50, 210, 3))
        cv2.rectangle(image, (x, y), (x + w // 12, y + h // 10), shade, -1)
    return image


def _texture(seed: int, kind: Texture, length: int, across: int) -> Image:
    """Belt surface, [across, length, 3]. strong: slats and speckle (PVC, modular plastic); weak: faint blotches
    (worn rubber); dark: near-black rubber with barely any pattern."""
    rng = np.random.default_rng([seed, 2])
    if kind == "strong":
        strip = np.empty((across, length), np.int16)
        x = 0
        while x < length:
            width = int(rng.integers(6, 22))
            strip[:, x:x + width] = int(rng.integers(35, 95))
            strip[:, x:x + 2] = 20
            x += width
        strip += rng.integers(-18, 19, (across, length)).astype(np.int16)
    else:
        base, contrast = (70, 3.0) if kind == "weak" else (28, 1.2)
        blotch = cv2.GaussianBlur(rng.normal(0, 1, (across, length)), (0, 0), 6.0)
        strip = (base + contrast * blotch / (blotch.std() + 1e-9)).astype(np.int16)
    gray = np.clip(strip, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), np.uint8)


def _draw_person(image: Image, cx: float, feet: float, height: float, t: float, walking: bool) -> None:
    """A person facing the camera: legs (swinging when walking), torso, arms, head."""
    u = height / 8
    x = round(cx)
    swing = (math.sin(2 * math.pi * 1.1 * t) if walking else 0.15 * math.sin(2 * math.pi * 0.3 * t)) * 0.8 * u
    hip, shoulder = round(feet - 4 * u), round(feet - 6.6 * u)
    dark, shirt, skin = (45, 40, 35), (60, 90, 170), (120, 150, 190)
    for foot in (x - 0.5 * u - swing, x + 0.5 * u + swing):
        cv2.line(image, (x, hip), (round(foot), round(feet)), dark, max(2, round(0.55 * u)))
    torso = np.array([[x - u, shoulder], [x + u, shoulder], [x + 0.8 * u, hip], [x - 0.8 * u, hip]], np.int32)
    cv2.fillConvexPoly(image, torso, shirt)
    for side in (-1, 1):
        hand = (round(x + side * 1.3 * u + side * swing * 0.5), round(feet - 3.8 * u))
        cv2.line(image, (x + side * round(0.9 * u), shoulder + 3), hand, shirt, max(2, round(0.4 * u)))
    cv2.circle(image, (x, round(feet - 7.4 * u)), max(1, round(0.55 * u)), skin, -1)
