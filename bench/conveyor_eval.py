"""The conveyor suite run: Vigil's conveyor rules (as the README configures them) and a DIS-flow baseline, side by
side on the same frames, scored against the scenes' ground truth.

Baseline (the issue's "50-line baseline"): OpenCV DIS flow at half resolution, the median of the flow component
along the belt inside the eroded polygon, averaged over 1 s; "stopped" below 0.1 px/frame, held 8 s to alert;
the alert ends on the first reading at or above 0.1 px/frame.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt
from belt_suite import piles, quiet, truth

from alerts.event import EventType
from alerts.region import region_mask
from alerts.scoring import ConveyorScorer
from alerts.state import RuleState, Timing, step
from config.rules import ConveyorCondition, RuleSettings
from ingest.belt_scene import BeltScene, BeltSpec
from ingest.frame import Frame

T0 = 1_700_000_000.0
Span = tuple[float, float]


class BaselineStop:
    """The DIS-flow baseline for one belt."""

    def __init__(self, region: list[tuple[float, float]], direction: tuple[float, float], fps: float) -> None:
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._region, self._fps = region, fps
        self._unit = np.array(direction, np.float32) / float(np.hypot(*direction))
        self._prev: npt.NDArray[np.uint8] | None = None
        self._values: deque[float] = deque(maxlen=max(1, round(fps)))  # 1 s of pairs
        self._below_since: float | None = None
        self.alerting = False

    def feed(self, t: float, image: npt.NDArray[np.uint8]) -> EventType | None:
        gray = cv2.cvtColor(cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2)), cv2.COLOR_BGR2GRAY)
        prev, self._prev = self._prev, gray
        if prev is None:
            return None
        flow = self._flow.calc(prev, gray, None)  # [h, w, 2] px per frame at half resolution
        mask = cv2.erode(region_mask(self._region, gray.shape[1], gray.shape[0]).astype(np.uint8), np.ones((7, 7)))
        self._values.append(float(np.median(flow[mask.astype(bool)] @ self._unit)))
        return self._decide(t, float(np.mean(self._values)) < 0.1)

    def _decide(self, t: float, below: bool) -> EventType | None:
        if not below:
            self._below_since = None
            if self.alerting:
                self.alerting = False
                return EventType.ENDED
            return None
        self._below_since = t if self._below_since is None else self._below_since
        if not self.alerting and t - self._below_since >= 8.0:
            self.alerting = True
            return EventType.STARTED
        return None


class _Feed:
    """A FrameFeed over the frames rendered so far."""

    def __init__(self) -> None:
        self.frames: deque[Frame] = deque(maxlen=64)

    def since(self, seq: int) -> list[Frame]:
        return [f for f in self.frames if f.seq >= seq]

    def latest(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


@dataclass
class Run:
    """Alerts of one detector on one scene: (started emitted at, ended emitted at or None), scene seconds."""

    alerts: list[tuple[float, float | None]] = field(default_factory=list)

    def on(self, kind: EventType | None, t: float) -> None:
        if kind is EventType.STARTED:
            self.alerts.append((t, None))
        elif kind is EventType.ENDED and self.alerts:
            self.alerts[-1] = (self.alerts[-1][0], t)


@dataclass
class SceneResult:
    name: str
    spec: BeltSpec
    runs: dict[str, Run]
    cpu_s: dict[str, float]


def for_scene(rule: RuleSettings, scene: BeltScene) -> RuleSettings:
    """The README's rule with the scene's belt region and direction."""
    assert isinstance(rule.condition, ConveyorCondition)
    condition = rule.condition.model_copy(update={"region": scene.region(0.05), "direction": scene.spec.direction})
    return rule.model_copy(update={"condition": condition})


async def run_scene(name: str, spec: BeltSpec, rules: list[RuleSettings], fps: float) -> SceneResult:
    scene = BeltScene(spec)
    rules = [for_scene(r, scene) for r in rules]
    scorers = {r.id: ConveyorScorer("bench", r.id, r.condition, r.every_s) for r in rules  # type: ignore[arg-type]
               if isinstance(r.condition, ConveyorCondition)}
    states = {r.id: RuleState() for r in rules}
    baseline = BaselineStop(scene.region(0.05), spec.direction, fps)
    runs = {r.id: Run() for r in rules} | {"baseline": Run()}
    cpu = dict.fromkeys(runs, 0.0) | {"render": 0.0}
    feed, every = _Feed(), rules[0].every_s
    for i in range(int(spec.duration_s * fps) + 1):
        t = i / fps
        c0 = time.process_time()
        image = scene.render(t)
        c1 = time.process_time()
        feed.frames.append(Frame.make("bench", i, T0 + t, T0 + t, image))
        runs["baseline"].on(baseline.feed(t, image), t)
        cpu["render"] += c1 - c0
        cpu["baseline"] += time.process_time() - c1
        if (i + 1) % max(1, round(every * fps)) == 0:
            for r in rules:
                c2 = time.process_time()
                score = await scorers[r.id].score(feed, T0 + t)
                states[r.id], tr = step(states[r.id], score, T0 + t, Timing.of(r), r.id)
                runs[r.id].on(None if tr is None else tr.type, t)
                cpu[r.id] += time.process_time() - c2
    return SceneResult(name, spec, runs, cpu)


def _hit(start: float, span: Span, slack: float) -> bool:
    return span[0] <= start <= span[1] + slack


def row(results: list[SceneResult], detector: str, state: str, slack: float) -> dict[str, str]:
    """recall, false alarms per hour, duplicates, median and max time-to-detect of one detector for one state."""
    delays: list[float] = []
    events = fa = dup = 0
    hours = sum(r.spec.duration_s for r in results) / 3600
    for r in results:
        spans, starts = truth(r.spec, state), [a for a, _ in r.runs[detector].alerts]
        events += len(spans)
        for span in spans:
            hits = [a for a in starts if _hit(a, span, slack)]
            delays += [min(hits) - span[0]] if hits else []
            dup += max(0, len(hits) - 1)
        fa += sum(not any(_hit(a, s, slack) for s in spans) for a in starts)
    return {
        "recall": f"{len(delays) / events:.3f} ({len(delays)}/{events})" if events else "n/a",
        "FA/h": f"{fa / hours:.2f} ({fa})", "duplicates": str(dup),
        "median TTD": f"{statistics.median(delays):.1f} s" if delays else "n/a",
        "max TTD": f"{max(delays):.1f} s" if delays else "n/a",
    }


def crossings(results: list[SceneResult], detector: str) -> dict[str, int]:
    """Alerts of `detector` that started during a pile-up, or during a slowed belt or a short stop."""
    def inside(spans: list[Span], a: float) -> bool:
        return any(s <= a <= e + 10.0 for s, e in spans)

    during_pile = sum(inside(piles(r.spec), a) for r in results for a, _ in r.runs[detector].alerts)
    during_quiet = sum(inside(quiet(r.spec), a) for r in results for a, _ in r.runs[detector].alerts)
    return {"during pile-ups": during_pile, "during slow belt / short stops": during_quiet}
