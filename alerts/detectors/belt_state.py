"""From per-cell belt readings to the belt's state: its speed against its own normal speed, and pile-ups.

Per tick, each cell's speed is the mean of its readings over the last `window_s` (at least WINDOW_MIN_S); a cell
counts only if it was measured in most pairs of the window and its readings agree (a swaying worker or a walker
gives readings of changing sign and size; a belt, a steady one). The belt's speed is the fastest such cell's,
ignoring cells faster than IMPLAUSIBLE x normal (people, not belts): a belt is rigid, so any stretch of exposed
belt or any box it still carries shows its speed, however much of it a pile or a person hides.

Stopped: belt speed under `stopped_below_pct` of normal; running again above `clear_above_pct` (hysteresis).
Before the normal speed is learned, FLOOR_FW_S (and twice that) stand in for both.
Pile-up: while the belt runs, cells whose content stays put (every reading under STILL_PCT of normal) form a
held stretch; a pile-up is a held stretch whose held cells reach upstream of where it first settled (boxes
arriving at the back of the pile), for GROW_HOLD_S. A standing worker holds a stretch that does not grow; a
stopped belt is not running.
No measured cell: the state is unknown and nothing changes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from alerts.detectors.belt_flow import Floats, PairReading
from alerts.detectors.normal_speed import NormalSpeed

WINDOW_MIN_S = 1.5  # three frame pairs at 2 fps: a worker's sway changes sign within it
MEASURED_SHARE = 0.6  # a cell must be measured in this share of the window's pairs
AGREE = 0.4  # readings of a cell may differ from their mean by this share of it ...
AGREE_PCT = 10.0  # ... plus this % of normal speed
IMPLAUSIBLE = 2.5  # a cell faster than this x normal is not belt
FLOOR_FW_S = 0.003  # frame widths per second: stands in as "stopped below" until the normal speed is learned
STILL_PCT = 4.0  # % of normal under which a cell's content is held still (at 2 fps: under 0.1 px per pair at 5 px/s)
STILL_FLOOR_FW_S = 0.0025  # frame widths per second (1.6 px/s at 640): the noise of a still cell's reading
SETTLE_S = 1.0  # a held stretch's size is taken over its first second
GROW_HOLD_S = 1.0  # it must stay larger than that for this long to be a pile-up
GAP_CELLS = 2  # unmeasured cells that may lie inside one held stretch
MAX_GROW = 2  # a held stretch grows upstream by at most this many cells per tick (an arriving box or two)


@dataclass(frozen=True, slots=True)
class BeltView:
    """What one tick saw. Speeds in px/s of the source frame; `held` and `measured` count cells."""

    speed: float | None
    normal: float | None
    held: int
    measured: int
    cells: int


@dataclass
class _Spell:
    """A held stretch of cells (upstream, downstream), from the tick it appeared on a running belt."""

    began: float
    first: tuple[int, int]
    span: tuple[int, int]
    grown_since: float | None = None


class BeltJudge:
    """The state of one belt for one rule. Fed readings in time order; asked once per tick."""

    def __init__(self, window_s: float, stopped_below_pct: float, clear_above_pct: float) -> None:
        self._window_s = max(WINDOW_MIN_S, window_s)
        self._stop_pct, self._clear_pct = stopped_below_pct, clear_above_pct
        self._readings: deque[PairReading] = deque(maxlen=512)
        self.normal = NormalSpeed()
        self.stopped = False
        self.pileup = False
        self._spell: _Spell | None = None
        self._last_tick: float | None = None
        self._spread: Floats = np.zeros(0)
        self._last_speed: float | None = None
        self._upstream_now: int | None = None  # the back of the followed stretch as held at this tick
        self.view = BeltView(None, None, 0, 0, 0)

    def add(self, reading: PairReading) -> None:
        if self._readings and self._readings[-1].speeds.shape != reading.speeds.shape:
            self._readings.clear()  # the frame size changed: cells are not comparable
            self._spell, self.pileup = None, False
        self._readings.append(reading)

    def tick(self, now: float) -> bool:
        """Update the state; False when the belt could not be measured (the state is held)."""
        dt = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now
        cells = self._cell_speeds(now)
        if cells is None:
            return False
        width = self._readings[-1].source_width
        normal = self.normal.px_s(width)
        held = _held(cells, self._spread, normal, width)
        span = self._follow(now, held, cells)
        index = np.arange(len(cells))
        # The pile's front blurs into the next cell (a cell is matched with context): that cell is left out too.
        in_pile = np.zeros(len(cells), bool) if span is None else (index >= span[0]) & (index <= span[1] + 1)
        outside = np.where(in_pile, np.nan, cells)
        speed = _belt_speed(outside, normal)
        if span is not None and speed is not None and np.isfinite(outside).sum() < 2:
            speed = speed if speed > self._thresholds(width)[1] else None  # beside a pile, one still cell is no stop
        if speed is not None:
            self._last_speed = speed
        # Figures for an alert: beside a pile the exposed belt may show nothing this tick; its last speed stands.
        self.view = BeltView(self._last_speed, normal, int((held & in_pile).sum()), int(np.isfinite(cells).sum()),
                             len(cells))
        if speed is None and self._spell is None:
            return False
        if speed is not None:
            self._judge_speed(now, dt, speed, width, held, cells)
        self._judge_pile(now)
        return True

    def _thresholds(self, width: int) -> tuple[float, float]:
        """(stopped below, running above) in px/s."""
        normal = self.normal.px_s(width)
        if normal is None:
            return FLOOR_FW_S * width, 2 * FLOOR_FW_S * width
        return self._stop_pct / 100 * normal, self._clear_pct / 100 * normal

    def _judge_speed(self, now: float, dt: float, speed: float, width: int, held: np.ndarray,
                     cells: Floats) -> None:
        stop_below, clear_above = self._thresholds(width)
        if speed > clear_above:
            self.stopped = False
            self.normal.observe(speed / width, dt)
            if self._spell is None and (stretch := _largest(held, cells)) is not None:
                self._spell = _Spell(now, stretch, stretch)  # held while the rest of the belt runs
        elif speed < stop_below:
            self.stopped = True
            self._spell, self.pileup = None, False  # a stopped belt never piles up

    def _follow(self, now: float, held: np.ndarray, cells: Floats) -> tuple[int, int] | None:
        """The current span of the held stretch being followed (None if none). It grows upstream by at most
        MAX_GROW cells per tick (boxes arriving at its back), never shrinks, and ends once most of its measured
        cells are seen moving again."""
        spell, self._upstream_now = self._spell, None
        if spell is None:
            return None
        up, down = spell.span
        inside = cells[up:down + 1]
        if (np.isfinite(inside) & ~held[up:down + 1]).sum() > held[up:down + 1].sum():
            self._spell, self.pileup = None, False  # measured and mostly not held: the stretch has moved on
            return None
        near = [s for s in _stretches(held, cells) if s[1] >= up - MAX_GROW - GAP_CELLS and s[0] <= down + 1]
        if near:
            up = max(min(s[0] for s in near), up - MAX_GROW)
            self._upstream_now = up
        if now - spell.began <= SETTLE_S:
            spell.first = (min(up, spell.first[0]), down)
        spell.span = (min(up, spell.span[0]), down)
        return spell.span

    def _judge_pile(self, now: float) -> None:
        spell = self._spell
        if spell is None or self.stopped:
            self.pileup = False
            return
        grown = self._upstream_now is not None and self._upstream_now < spell.first[0]
        if self._upstream_now is None and spell.grown_since is not None:
            return  # the back of the stretch is not measured now: keep what was seen
        if not grown:
            spell.grown_since = None
            self.pileup = False
            return
        spell.grown_since = now if spell.grown_since is None else spell.grown_since
        self.pileup = self.pileup or now - spell.grown_since >= GROW_HOLD_S

    def _cell_speeds(self, now: float) -> Floats | None:
        """[cells] mean speed over the window of each cell measured often enough and steadily; None: no pair."""
        if not self._readings:
            return None
        newest = self._readings[-1].t
        if newest < now - 3 * self._window_s:
            return None  # nothing recent: the video says nothing about now
        pairs = np.stack([r.speeds for r in self._readings if r.t > newest - self._window_s])  # [pairs, cells]
        measured = np.isfinite(pairs)
        counts = measured.sum(axis=0)
        mean = np.where(measured, pairs, 0.0).sum(axis=0) / np.maximum(counts, 1)
        normal = self.normal.px_s(self._readings[-1].source_width) or 0.0
        tolerance = AGREE * np.abs(mean) + AGREE_PCT / 100 * normal
        deviation = np.where(measured, np.abs(pairs - mean), 0.0)  # [pairs, cells]
        steady = np.all(deviation <= tolerance, axis=0)
        self._spread = deviation.max(axis=0)  # [cells] px/s: how much a cell's readings wandered
        enough = counts >= max(1, math.ceil(MEASURED_SHARE * len(pairs)))
        return np.where(enough & steady, mean, np.nan)


def _belt_speed(cells: Floats, normal: float | None) -> float | None:
    """The fastest plausible cell's speed (>= 0), px/s; None when no cell was measured."""
    ok = cells[np.isfinite(cells)]
    if normal is not None:
        ok = ok[ok <= IMPLAUSIBLE * normal]
    return None if ok.size == 0 else max(0.0, float(ok.max()))


def _held(cells: Floats, spread: Floats, normal: float | None, width: int) -> np.ndarray:
    """[cells] bool: content standing still, every reading of the window under STILL_PCT of normal (at least
    STILL_FLOOR_FW_S): boxes in a pile do not move at all; a worker in front of the belt sways."""
    still = max(STILL_FLOOR_FW_S * width, 0.0 if normal is None else STILL_PCT / 100 * normal)
    return np.isfinite(cells) & (np.abs(np.nan_to_num(cells, nan=np.inf)) + spread < still)


def _stretches(held: np.ndarray, cells: Floats) -> list[tuple[int, int]]:
    """(upstream, downstream) of each run of held cells; up to GAP_CELLS unmeasured cells inside a run do not break
    it (on a plain belt the gap between two held boxes shows nothing to measure)."""
    runs: list[tuple[int, int]] = []
    for i in np.flatnonzero(held).tolist():
        if runs and i - runs[-1][1] <= GAP_CELLS + 1 and not np.isfinite(cells[runs[-1][1] + 1:i]).any():
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _largest(held: np.ndarray, cells: Floats) -> tuple[int, int] | None:
    runs = _stretches(held, cells)
    return max(runs, key=lambda r: r[1] - r[0]) if runs else None
