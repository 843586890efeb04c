"""A synthetic factory scene: a conveyor carrying boxes, with scripted events and ground truth.

Every picture is a pure function of (settings, t): the same seed and time give the same bytes, so the demo,
the tests and the detection benchmark can render any instant in any order without replaying the past.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from config.cameras import SyntheticEvent, SyntheticSource

Image = npt.NDArray[np.uint8]

BELT_TOP, BELT_BOTTOM = 0.50, 0.70  # belt band, fractions of the frame height
BOX_SPACING = 0.26  # frame widths between consecutive boxes (in belt coordinates)
PILE_X = 0.62  # where a pileup gets stuck, fraction of the frame width
PERSON_HEIGHT = 0.62  # of the frame height: large enough for a people detector at reduced size
SHAKE_PX = 0.012  # shake amplitude, fraction of the frame width
LIGHT_DEPTH = 0.45  # lighting drift darkens the scene by up to this fraction
_TEXTURE_WIDTHS = 5  # belt texture length in frame widths; never repeats inside the visible belt


@dataclass(frozen=True, slots=True)
class _Span:
    start: float
    end: float

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


class FactoryScene:
    """Renders the conveyor at any time t (seconds since the stream started) and says what is happening then."""

    def __init__(self, settings: SyntheticSource) -> None:
        self._s = settings
        self._w, self._h = settings.width, settings.height
        self._background = _background(settings.seed, self._w, self._h)
        self._texture = _belt_texture(settings.seed, self._w * _TEXTURE_WIDTHS, self._belt_px()[1] - self._belt_px()[0])

    # ---- ground truth -------------------------------------------------------------------------------------

    def active(self, t: float) -> frozenset[str]:
        """Event kinds in progress at t."""
        return frozenset(e.kind for e in self._s.events if self._span(e, t) is not None)

    def _span(self, event: SyntheticEvent, t: float) -> _Span | None:
        """The occurrence of `event` covering t, in absolute seconds, or None."""
        base = self._period_base(t)
        span = _Span(base + event.start_s, base + event.start_s + event.duration_s)
        return span if span.covers(t) else None

    def _period_base(self, t: float) -> float:
        period = self._s.period_s
        return 0.0 if period is None else math.floor(t / period) * period

    def belt_offset(self, t: float) -> float:
        """How far the belt has travelled by t, in pixels: its speed integrated over the time it was not jammed."""
        return self._s.belt_speed * self._w * (t - self._jammed_before(t))

    def _jammed_before(self, t: float) -> float:
        period = self._s.period_s
        if period is None:
            return self._jammed_within(t, math.inf)
        laps = math.floor(t / period)
        return laps * self._jammed_within(period, period) + self._jammed_within(t - laps * period, period)

    def _jammed_within(self, t: float, period: float) -> float:
        """Seconds of jam in [0, t) of one lap, occurrences clipped to the lap."""
        total = 0.0
        for e in self._s.events:
            if e.kind == "jam":
                total += max(0.0, min(t, e.start_s + e.duration_s, period) - e.start_s)
        return total

    # ---- rendering ----------------------------------------------------------------------------------------

    def render(self, t: float) -> Image:
        """The frame at t: [H, W, 3] uint8 BGR."""
        image = self._background.copy()
        offset = self.belt_offset(t)
        self._draw_belt(image, offset)
        self._draw_boxes(image, t, offset)
        person = self._event_span("person", t)
        if person is not None:
            _draw_person(image, self._person_x(person, t), t, self._h)
        light = self._event_span("lighting", t)
        if light is not None:
            image = _dim(image, light, t)
        if self._event_span("shake", t) is not None:
            image = self._shake(image, t)
        return image

    def _event_span(self, kind: str, t: float) -> _Span | None:
        for e in self._s.events:
            if e.kind == kind and (span := self._span(e, t)) is not None:
                return span
        return None

    def _belt_px(self) -> tuple[int, int]:
        return round(BELT_TOP * self._h), round(BELT_BOTTOM * self._h)

    def _draw_belt(self, image: Image, offset: float) -> None:
        top, bottom = self._belt_px()
        length = self._texture.shape[1]
        # The texture scrolls right as the belt advances; column x shows texture column (x - offset) mod length.
        cols = (np.arange(self._w) - round(offset)) % length
        image[top:bottom] = self._texture[:, cols]

    def _draw_boxes(self, image: Image, t: float, offset: float) -> None:
        spacing = BOX_SPACING * self._w
        pile = self._event_span("pileup", t)
        stuck_from = self._first_stuck(pile, spacing) if pile is not None else None
        first = math.floor((offset - self._w) / spacing) - 1
        lo = first if stuck_from is None else min(first, stuck_from)
        for i in range(lo, math.ceil(offset / spacing) + 2):
            x = offset - i * spacing
            if stuck_from is not None and i >= stuck_from and x >= PILE_X * self._w:
                self._draw_stuck_box(image, i, i - stuck_from)
            else:
                self._draw_box(image, i, x, lift=0.0)

    def _first_stuck(self, pile: _Span, spacing: float) -> int:
        """Index of the first box to reach the pile point after the pileup began (boxes further right go on)."""
        return math.floor((self.belt_offset(pile.start) - PILE_X * self._w) / spacing) + 1

    def _draw_stuck_box(self, image: Image, i: int, k: int) -> None:
        w = _box_size(self._s.seed, i, self._w)[0]
        x = PILE_X * self._w - (k // 2) * w * 0.55 - w * 0.3 * (k % 2)
        self._draw_box(image, i, x, lift=0.55 * (k % 2))

    def _draw_box(self, image: Image, i: int, right: float, lift: float) -> None:
        bw, bh = _box_size(self._s.seed, i, self._w)
        top, bottom = self._belt_px()
        y1 = round(top + 0.35 * (bottom - top) - lift * bh)
        x0, x1 = round(right - bw), round(right)
        color = _box_color(self._s.seed, i)
        cv2.rectangle(image, (x0, y1 - bh), (x1, y1), color, -1)
        cv2.rectangle(image, (x0, y1 - bh), (x1, y1), (40, 50, 60), 2)
        # A label and a tape stripe give the box texture that optical flow can follow.
        cv2.line(image, ((x0 + x1) // 2, y1 - bh), ((x0 + x1) // 2, y1), (70, 110, 150), 3)
        cv2.rectangle(image, (x0 + bw // 6, y1 - bh // 2), (x0 + bw // 3, y1 - bh // 5), (235, 235, 235), -1)

    def _person_x(self, span: _Span, t: float) -> float:
        progress = (t - span.start) / (span.end - span.start)
        return self._w * (0.12 + 0.76 * progress)

    def _shake(self, image: Image, t: float) -> Image:
        frame = round(t * self._s.fps)
        dx, dy = np.random.default_rng([self._s.seed, 7, frame]).uniform(-1.0, 1.0, 2) * SHAKE_PX * self._w
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        shaken = cv2.warpAffine(image, matrix, (self._w, self._h), borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(shaken, dtype=np.uint8)


def _background(seed: int, w: int, h: int) -> Image:
    """A wall, a floor and some fixed clutter; static, so any motion in a frame comes from the scene."""
    rng = np.random.default_rng([seed, 1])
    image = np.empty((h, w, 3), np.uint8)
    image[: h // 2] = (150, 155, 150)
    image[h // 2:] = (95, 100, 105)
    noise = rng.integers(-8, 9, (h, w, 1))
    image = np.asarray(np.clip(image.astype(np.int16) + noise, 0, 255), dtype=np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, w - w // 8)), int(rng.integers(0, h // 3))
        shade = tuple(int(c) for c in rng.integers(60, 200, 3))
        cv2.rectangle(image, (x, y), (x + w // 10, y + h // 8), shade, -1)
    cv2.rectangle(image, (0, round(0.71 * h)), (w, round(0.74 * h)), (60, 60, 60), -1)  # belt frame rail
    return image


def _belt_texture(seed: int, length: int, height: int) -> Image:
    """Slats of random widths and shades plus speckle: no period that optical flow could alias on."""
    rng = np.random.default_rng([seed, 2])
    strip = np.empty((height, length, 3), np.uint8)
    x = 0
    while x < length:
        width = int(rng.integers(6, 22))
        strip[:, x:x + width] = int(rng.integers(35, 95))
        strip[:, x:x + 2] = 20  # the seam between two slats
        x += width
    speckle = rng.integers(-18, 19, (height, length, 1))
    return np.asarray(np.clip(strip.astype(np.int16) + speckle, 0, 255), dtype=np.uint8)


def _box_size(seed: int, i: int, w: int) -> tuple[int, int]:
    rng = np.random.default_rng([seed, 3, i & 0xFFFFFFFF])
    return round(w * rng.uniform(0.09, 0.13)), round(w * rng.uniform(0.06, 0.09))


def _box_color(seed: int, i: int) -> tuple[int, int, int]:
    rng = np.random.default_rng([seed, 4, i & 0xFFFFFFFF])
    return int(rng.integers(60, 110)), int(rng.integers(120, 170)), int(rng.integers(170, 220))


def _dim(image: Image, span: _Span, t: float) -> Image:
    """Slow global drift: down to 1 - LIGHT_DEPTH at the middle of the event, back up by its end."""
    gain = 1.0 - LIGHT_DEPTH * math.sin(math.pi * (t - span.start) / (span.end - span.start))
    return np.asarray(cv2.convertScaleAbs(image, alpha=gain), dtype=np.uint8)


def _draw_person(image: Image, cx: float, t: float, h: int) -> None:
    """An upright walking figure: head, torso, arms and two legs whose stride swings with time."""
    height = PERSON_HEIGHT * h
    feet = 0.95 * h
    u = height / 8  # one head height
    x = round(cx)
    swing = math.sin(2 * math.pi * 1.2 * t) * 0.8 * u
    dark, shirt, skin = (40, 35, 30), (140, 70, 30), (120, 150, 190)
    head_c = (x, round(feet - 7.5 * u))
    hip_y, shoulder_y = round(feet - 4 * u), round(feet - 6.6 * u)
    for foot in (x - swing, x + swing):  # legs
        cv2.line(image, (x, hip_y), (round(foot), round(feet)), dark, max(2, round(0.55 * u)))
    torso = np.array([[x - 0.9 * u, shoulder_y], [x + 0.9 * u, shoulder_y], [x + 0.75 * u, hip_y + 0.3 * u],
                      [x - 0.75 * u, hip_y + 0.3 * u]], np.int32)
    cv2.fillConvexPoly(image, torso, shirt)
    for side, hand in ((-1, -swing), (1, swing)):  # arms swing against the legs
        cv2.line(image, (x + side * round(0.85 * u), shoulder_y + 3),
                 (round(x + side * 1.1 * u + 0.6 * hand), round(feet - 3.9 * u)), shirt, max(2, round(0.4 * u)))
    cv2.ellipse(image, head_c, (round(0.42 * u), round(0.5 * u)), 0, 0, 360, skin, -1)
    cv2.line(image, (x, round(feet - 7 * u)), (x, shoulder_y), skin, max(2, round(0.3 * u)))  # neck
