"""From per-cell belt readings to the belt's state: its speed against its own normal speed, and pile-ups.

Per tick, each cell's speed is the mean of its readings over the last `window_s` (at least WINDOW_MIN_S); a cell
counts only if it was measured in most pairs of the window and its readings agree (a swaying worker or a walker
gives readings of changing sign and size; a belt, a steady one). The belt's speed is the fastest such cell's,
ignoring cells faster than IMPLAUSIBLE x normal (people, not belts): a belt is rigid, so any stretch of exposed
belt or any box it still carries shows its speed, however much of it a pile or a person hides.

Stopped: belt speed under `stopped_below_pct` of normal; running again above `clear_above_pct` (hysteresis).
Before the normal speed is learned, FLOOR_FW_S (and twice that) stand in for both.
Pile-up: while the belt runs, cells whose content stays put (under STILL_PCT of normal) form a held stretch; a
pile-up is a held stretch that has grown upstream since it appeared (boxes arriving at the back of the pile),
for GROW_HOLD_S. A standing worker holds a stretch that does not grow; a stopped belt is not running.
No measured cell: the state is unknown and nothing changes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from alerts.detectors.belt_flow import Floats, PairReading
from alerts.detectors.normal_speed import NormalSpeed

WINDOW_MIN_S = 2.0  # a worker's sway (~0.3-0.5 Hz) mostly cancels over this much video
MEASURED_SHARE = 0.6  # a cell must be measured in this share of the window's pairs
AGREE = 0.4  # readings of a cell may differ from their mean by this share of it ...
AGREE_PCT = 10.0  # ... plus this % of normal speed
IMPLAUSIBLE = 2.5  # a cell faster than this x normal is not belt
FLOOR_FW_S = 0.003  # frame widths per second: stands in as "stopped below" until the normal speed is learned
STILL_PCT = 20.0  # % of normal under which a cell's content is held still
SETTLE_S = 1.0  # a held stretch's size is taken over its first second
GROW_HOLD_S = 2.0  # it must stay larger than that for this long to be a pile-up
RUN_MEMORY_S = 10.0  # the belt counts as running this long after it was last seen running


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
    """A held stretch since it appeared: its first size, the most upstream cell, when it grew."""

    began: float
    size: int
    upstream: int
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
        self._ran_at = -math.inf
        self._last_tick: float | None = None
        self.view = BeltView(None, None, 0, 0, 0)

    def add(self, reading: PairReading) -> None:
        if self._readings and self._readings[-1].speeds.shape != reading.speeds.shape:
            self._readings.clear()  # the frame size changed: cells are not comparable
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
        speed = _belt_speed(cells, normal)
        held = _held(cells, normal, width)
        self.view = BeltView(speed, normal, int(held.sum()), int(np.isfinite(cells).sum()), len(cells))
        if speed is None:
            return False
        self._judge(now, dt, speed, width, held)
        return True

    def _judge(self, now: float, dt: float, speed: float, width: int, held: np.ndarray) -> None:
        normal = self.normal.px_s(width)
        stop_below = FLOOR_FW_S * width if normal is None else self._stop_pct / 100 * normal
        clear_above = 2 * FLOOR_FW_S * width if normal is None else self._clear_pct / 100 * normal
        if speed > clear_above:
            self.stopped = False
            self._ran_at = now
            self.normal.observe(speed / width, dt)
        elif speed < stop_below and not self.pileup:
            self.stopped = True
        running = not self.stopped and now - self._ran_at <= RUN_MEMORY_S
        self._track_pile(now, held if running else np.zeros_like(held))

    def _track_pile(self, now: float, held: np.ndarray) -> None:
        stretch = _stretch(held)
        if stretch is None:
            self._spell, self.pileup = None, False
            return
        size, upstream = stretch
        spell = self._spell
        if spell is None:
            self._spell = _Spell(now, size, upstream)
            return
        if now - spell.began < SETTLE_S:
            spell.size, spell.upstream = max(spell.size, size), min(spell.upstream, upstream)
            return
        grew = size > spell.size and upstream < spell.upstream and size >= 2
        if not grew:
            spell.grown_since = None
        elif spell.grown_since is None:
            spell.grown_since = now
        if spell.grown_since is not None and now - spell.grown_since >= GROW_HOLD_S:
            self.pileup = True
        if size < 2:
            self.pileup = False

    def _cell_speeds(self, now: float) -> Floats | None:
        """[cells] mean speed over the window of each cell measured often enough and steadily; None: no pair."""
        if not self._readings:
            return None
        newest = self._readings[-1].t
        if newest < now - 3 * self._window_s:
            return None  # nothing recent: the video says nothing about now
        pairs = np.stack([r.speeds for r in self._readings if r.t > newest - self._window_s])  # [pairs, cells]
        measured = np.isfinite(pairs)
        mean = np.nanmean(np.where(measured, pairs, np.nan), axis=0) if measured.any() else pairs[0]
        normal = self.normal.px_s(self._readings[-1].source_width) or 0.0
        tolerance = AGREE * np.abs(mean) + AGREE_PCT / 100 * normal
        steady = np.all(~measured | (np.abs(pairs - mean) <= tolerance), axis=0)
        enough = measured.sum(axis=0) >= max(1, math.ceil(MEASURED_SHARE * len(pairs)))
        return np.where(enough & steady, mean, np.nan)


def _belt_speed(cells: Floats, normal: float | None) -> float | None:
    """The fastest plausible cell's speed (>= 0), px/s; None when no cell was measured."""
    ok = cells[np.isfinite(cells)]
    if normal is not None:
        ok = ok[ok <= IMPLAUSIBLE * normal]
    return None if ok.size == 0 else max(0.0, float(ok.max()))


def _held(cells: Floats, normal: float | None, width: int) -> np.ndarray:
    """[cells] bool: content standing still."""
    still = STILL_PCT / 100 * normal if normal is not None else 2 * FLOOR_FW_S * width
    return np.isfinite(cells) & (np.abs(np.nan_to_num(cells, nan=np.inf)) < still)


def _stretch(held: np.ndarray) -> tuple[int, int] | None:
    """(cells, most upstream cell) of the longest run of held cells, or None when no cell is held."""
    best: tuple[int, int] | None = None
    run = 0
    for i, h in enumerate(held.tolist()):
        run = run + 1 if h else 0
        if run and (best is None or run > best[0]):
            best = (run, i - run + 1)
    return best
