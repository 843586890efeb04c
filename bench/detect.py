"""Detection quality on labelled synthetic scenarios.

`--suite demo` (default): the demo's jam (motion) and presence rules on ingest.scene's factory scenes.
`--suite conveyor`: the README's conveyor rules (stopped, pileup) against a DIS-flow baseline on the belt scenes of
bench/belt_suite.py, rendered at 640x360 at the README camera's fps; prints recall, false alarms per hour,
duplicates, median and max time-to-detect (truth start to the alert's emitted_at) per detector, and CPU per frame.

Each scenario is rendered by ingest.scene.FactoryScene at the camera's sampling rate and scored by the same
scorers and state machine the RuleRunner uses, on a virtual clock (faster than real time). Prints, per rule:
precision, recall, false alarms per hour (overall and on the hour of normal running) and median time-to-detect.

    .venv/bin/python bench/detect.py [--config config/demo.yaml] [--quick]
    nice .venv/bin/python bench/detect.py --suite conveyor [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import statistics
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from belt_suite import suite
from conveyor_eval import SceneResult, crossings, row, run_scene

from alerts.event import EventType
from alerts.scoring import FrameScorer, frame_scorer
from alerts.state import RuleState, Timing, step
from config.cameras import SyntheticEvent, SyntheticSource
from config.loader import load_settings
from config.rules import RuleSettings
from config.settings import VigilSettings
from ingest.belt_scene import BeltSpec
from ingest.frame import Frame
from ingest.scene import FactoryScene

T0 = 1_700_000_000.0  # virtual wall time of each scenario's first frame
TARGET = {"motion": "jam", "presence": "person"}  # ground-truth kind each rule type should detect


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    events: tuple[tuple[str, float, float], ...] = ()
    period_s: float | None = None
    belt_speed: float = 0.08
    seed: int = 7


def scenarios(quick: bool) -> list[Scenario]:
    m = 300.0 if quick else 900.0
    return [
        Scenario("clean jam", m, (("jam", 20, 30),), 90, seed=1),
        Scenario("slow belt (not a jam)", m, belt_speed=0.03, seed=2),
        Scenario("boxes piling on a moving belt", m, (("pileup", 20, 40),), 90, seed=3),
        Scenario("person crossing the belt", m, (("person", 15, 12),), 45, seed=4),
        Scenario("person crossing a jammed belt", m, (("jam", 10, 40), ("person", 20, 12)), 90, seed=5),
        Scenario("lighting drift", m, (("lighting", 10, 60),), 90, seed=6),
        Scenario("camera shake", m, (("shake", 10, 20),), 45, seed=8),
        Scenario("jam under camera shake", m, (("jam", 20, 30), ("shake", 10, 60)), 90, seed=9),
        Scenario("normal running, 1 h", 900.0 if quick else 3600.0, seed=10),
    ]


class ReplayFeed:
    """A FrameFeed over frames rendered up to the current virtual time."""

    def __init__(self, scene: FactoryScene, fps: float) -> None:
        self._scene, self._fps = scene, fps
        self._frames: deque[Frame] = deque(maxlen=int(fps * 60))
        self._seq = 0

    def advance(self, now: float) -> None:
        while T0 + self._seq / self._fps <= now:
            t = self._seq / self._fps
            self._frames.append(Frame.make("bench", self._seq, T0 + t, T0 + t, self._scene.render(t)))
            self._seq += 1

    def since(self, seq: int) -> list[Frame]:
        return [f for f in self._frames if f.seq >= seq]

    def latest(self) -> Frame | None:
        return self._frames[-1] if self._frames else None


@dataclass
class Outcome:
    truth: list[tuple[float, float]]  # ground-truth intervals, scenario seconds
    alerts: list[tuple[float, float | None]] = field(default_factory=list)  # (started emitted, ended emitted)
    hours: float = 0.0


async def run(scenario: Scenario, rule: RuleSettings, fps: float) -> Outcome:
    source = SyntheticSource(seed=scenario.seed, belt_speed=scenario.belt_speed, period_s=scenario.period_s,
                             events=[SyntheticEvent(kind=k, start_s=s, duration_s=d) for k, s, d in scenario.events])
    scene = FactoryScene(source)
    feed = ReplayFeed(scene, fps)
    scorer = frame_scorer(rule, "bench")
    assert scorer is not None
    outcome = Outcome(truth(scene, TARGET[rule.condition.type], scenario.duration_s, fps),
                      hours=scenario.duration_s / 3600)
    await evaluate(scorer, rule, feed, scenario.duration_s, outcome)
    return outcome


async def evaluate(scorer: FrameScorer, rule: RuleSettings, feed: ReplayFeed, duration_s: float,
                   outcome: Outcome) -> None:
    state, timing, k = RuleState(), Timing.of(rule), 0
    while (t := k * rule.every_s) <= duration_s:
        feed.advance(T0 + t)
        state, tr = step(state, await scorer.score(feed, T0 + t), T0 + t, timing, "bench")
        if tr is not None and tr.type is EventType.STARTED:
            outcome.alerts.append((t, None))
        elif tr is not None and tr.type is EventType.ENDED:
            outcome.alerts[-1] = (outcome.alerts[-1][0], t)
        k += 1


def truth(scene: FactoryScene, kind: str, duration_s: float, fps: float) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    step_s = 1.0 / fps
    for i in range(int(duration_s * fps) + 1):
        t = i * step_s
        if kind in scene.active(t):
            if spans and abs(spans[-1][1] - t) < step_s * 1.5:
                spans[-1] = (spans[-1][0], t + step_s)
            else:
                spans.append((t, t + step_s))
    return spans


def first_alert(o: Outcome, span: tuple[float, float], slack: float) -> float | None:
    """When the first alert that answers this ground-truth span started; None if it was missed."""
    times = [a for a, _ in o.alerts if span[0] <= a <= span[1] + slack]
    return min(times) if times else None


def score(outcomes: list[tuple[str, Outcome]], rule: RuleSettings) -> dict[str, str]:
    slack = rule.for_s + rule.every_s + 10.0  # an alert may start this long after its event began
    delays: list[float] = []
    total = tp = fp = normal_fp = 0
    hours = normal_h = 0.0
    for name, o in outcomes:
        total, hours = total + len(o.truth), hours + o.hours
        delays += [a - s for s, e in o.truth if (a := first_alert(o, (s, e), slack)) is not None]
        good = [any(s <= a <= e + slack for s, e in o.truth) for a, _ in o.alerts]
        tp, fp = tp + sum(good), fp + good.count(False)
        if name.startswith("normal"):
            normal_fp, normal_h = normal_fp + good.count(False), normal_h + o.hours
    return {
        "events": str(total), "alerts": str(tp + fp),
        "precision": f"{tp / (tp + fp):.3f}" if tp + fp else "n/a",
        "recall": f"{len(delays) / total:.3f}" if total else "n/a",
        "false alarms/h (all scenarios)": f"{fp / hours:.2f}",
        "false alarms/h (normal running)": f"{normal_fp / normal_h:.2f}" if normal_h else "n/a",
        "median time-to-detect": (f"{statistics.median(delays):.1f} s" if delays else "n/a")
        + f" (target <= for_s + 5 = {rule.for_s + 5:g} s)",
    }


def readme_settings() -> VigilSettings:
    """The README's config example, as a user would copy it (placeholder secrets filled in)."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    block = re.findall(r"```yaml\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)[0]
    for name in ("REDIS_PASSWORD", "VIGIL_API_TOKEN", "CAM_PASSWORD"):
        os.environ.setdefault(name, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "readme.yaml"
        path.write_text(block, encoding="utf-8")
        return load_settings(path)


def _scene_job(job: tuple[str, BeltSpec, float]) -> SceneResult:
    name, spec, fps = job
    cv2.setNumThreads(1)
    settings = readme_settings()
    rules = [r for r in settings.rules_for(settings.cameras[0].id) if r.condition.type == "conveyor"]
    return asyncio.run(run_scene(name, spec, rules, fps))


async def conveyor_suite(quick: bool, jobs: int, minutes: float) -> None:
    settings = readme_settings()
    camera = settings.cameras[0]
    rules = [r for r in settings.rules_for(camera.id) if r.condition.type == "conveyor"]
    event_min, normal = (3.0, 4.0) if quick else (minutes, 15.0)
    results = []
    todo = [(name, spec, camera.fps) for name, spec in suite(event_min, normal)]
    todo.sort(key=lambda j: -j[1].duration_s)  # longest first: the pool finishes together
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        for res in pool.imap_unordered(_scene_job, todo):
            results.append(res)
            counts = " ".join(f"{k}={len(v.alerts)}" for k, v in res.runs.items())
            print(f"  {res.name:66} alerts: {counts}", flush=True)
    hours = sum(r.spec.duration_s for r in results) / 3600
    cpu = sum(sum(r.cpu_s.values()) for r in results)
    print(f"conveyor suite: {len(results)} scenes, {hours:.2f} h of video at {camera.fps:g} fps, 640x360, "
          f"{cpu:.0f} s CPU in the scene loops")
    for state in ("stopped", "pileup"):
        for rule in rules:
            if getattr(rule.condition, "state", None) != state:
                continue
            slack = rule.for_s + rule.every_s + 10.0
            detectors = [rule.id] + (["baseline"] if state == "stopped" else [])
            for det in detectors:
                cells = "  ".join(f"{k} {v}" for k, v in row(results, det, state, slack).items())
                extra = "  ".join(f"{k} {v}" for k, v in crossings(results, det).items())
                print(f"  {state:8} {det:14} {cells}  | alerts {extra}")
    frames = sum(r.spec.duration_s * camera.fps for r in results)
    for key in results[0].cpu_s:
        print(f"  CPU per frame, {key:14} {1000 * sum(r.cpu_s[key] for r in results) / frames:.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("config/demo.yaml"))
    parser.add_argument("--suite", choices=["demo", "conveyor"], default="demo")
    parser.add_argument("--quick", action="store_true", help="shorter scenarios")
    parser.add_argument("--jobs", type=int, default=1, help="conveyor suite: scenes run in this many processes")
    parser.add_argument("--minutes", type=float, default=5.0, help="conveyor suite: minutes per event scene")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.suite == "conveyor":
        await conveyor_suite(args.quick, args.jobs, args.minutes)
        return
    settings = load_settings(args.config)
    camera = settings.cameras[0]
    rules = [r for r in settings.rules_for(camera.id) if r.condition.type in TARGET]
    for rule in rules:
        started = time.perf_counter()
        outcomes = []
        for sc in scenarios(args.quick):
            o = await run(sc, rule, camera.fps)
            outcomes.append((sc.name, o))
            detected = sum(first_alert(o, span, rule.for_s + rule.every_s + 10.0) is not None for span in o.truth)
            print(f"  [{rule.id}] {sc.name:34} events={len(o.truth):3} detected={detected:3} alerts={len(o.alerts):3}")
        print(f"rule {rule.id} ({rule.condition.type}, every {rule.every_s:g} s, for {rule.for_s:g} s) "
              f"at {camera.fps:g} fps, {time.perf_counter() - started:.0f} s of compute:")
        for key, value in score(outcomes, rule).items():
            print(f"    {key:32} {value}")


if __name__ == "__main__":
    asyncio.run(main())
