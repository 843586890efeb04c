"""The conveyor condition: unknown never reads as stopped, the learned normal speed survives a restart, a cooldown
records (and later starts) a second jam, and alerts carry the measured figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alerts.clock import VirtualClock
from alerts.detectors.conveyor import ConveyorDetector
from alerts.event import EventType
from alerts.metrics import STARTS_SUPPRESSED
from alerts.runner import RuleRunner
from config.rules import ConveyorCondition, RuleSettings
from config.settings import VigilSettings
from ingest.belt_scene import BeltEvent, BeltScene, BeltSpec
from tests.alerts.conftest import T0, SceneFeed
from tests.alerts.test_runner import Sink, run_for

W, H = 320, 180


def belt(*events: BeltEvent, texture: str = "strong", gap: float = 4.0, seed: int = 3) -> BeltScene:
    return BeltScene(BeltSpec(seed, 300, 0.0, 40.0, texture, gap, W, H, events))  # type: ignore[arg-type]


def rule(scene: BeltScene, state: str = "stopped", **timing: Any) -> dict[str, Any]:
    condition = {"type": "conveyor", "region": scene.region(0.05), "direction": list(scene.spec.direction),
                 "state": state}
    return {"id": f"belt_{state}", "cameras": ["line1"], "condition": condition, "every_s": 1, "for_s": 8,
            "clear_for_s": 5} | timing


def settings(*rules: dict[str, Any]) -> VigilSettings:
    return VigilSettings.model_validate({"cameras": [{"id": "line1", "source": {"type": "synthetic"}}],
                                         "rules": list(rules)})


def detector(scene: BeltScene, state: str = "stopped") -> ConveyorDetector:
    condition = ConveyorCondition(region=scene.region(0.05), direction=scene.spec.direction, state=state)
    return ConveyorDetector(condition, 1.0)  # type: ignore[arg-type]


def scores(det: ConveyorDetector, scene: BeltScene, t0: float, t1: float, fps: float = 2.0) -> list[float | None]:
    """Feed frames over [t0, t1) and score once per second."""
    out: list[float | None] = []
    for i in range(round(t0 * fps), round(t1 * fps)):
        det.feed(i / fps, scene.render(i / fps))
        if i % round(fps) == 0:
            out.append(det.score(i / fps))
    return out


def test_an_empty_dark_belt_under_dimmed_light_is_unknown_never_stopped() -> None:
    scene = belt(BeltEvent("dim", 0, 300, 0.8), texture="dark", gap=1000.0)  # no box for minutes
    assert set(scores(detector(scene), scene, 0, 40)) == {None}


def test_a_stopped_belt_that_becomes_unmeasurable_stays_stopped() -> None:
    scene = belt(BeltEvent("stop", 20, 100))
    det = detector(scene)
    assert scores(det, scene, 0, 30)[-1] == 1.0
    flat = np.full((H, W, 3), 40, np.uint8)  # the lights went out: nothing to track
    for i in range(6):
        det.feed(30 + i / 2, flat)
    assert det.score(33.0) is None and det.score(33.0) is None
    assert scores(det, scene, 34, 40)[-1] == 1.0


def test_a_quarter_speed_belt_is_not_stopped_and_a_real_stop_is() -> None:
    scene = belt(BeltEvent("slow", 20, 30), BeltEvent("stop", 60, 30))
    got = scores(detector(scene), scene, 0, 90)
    assert 1.0 not in got[:58] and got[58:].count(1.0) >= 25


def test_conveyor_rules_refuse_score_thresholds_and_flapping_hysteresis() -> None:
    scene = belt()
    with pytest.raises(ValueError, match="own hysteresis"):
        RuleSettings.model_validate(rule(scene) | {"threshold": 0.7})
    with pytest.raises(ValueError, match="must exceed"):
        bad = rule(scene)
        bad["condition"] |= {"stopped_below_pct": 40, "clear_above_pct": 30}
        RuleSettings.model_validate(bad)


async def test_learned_normal_speed_survives_a_restart(tmp_path: Path) -> None:
    running = belt()
    clock = VirtualClock(T0)
    await run_for(RuleRunner(settings(rule(running)), lambda c: SceneFeed(running, clock), None, Sink(),  # type: ignore[arg-type]
                             tmp_path, clock), clock, 30.0)
    saved = json.loads((tmp_path / "rules.json").read_text())["rules"]["line1:belt_stopped"]["detector"]
    assert saved["normal_fw_s"] == pytest.approx(40 / 640, rel=0.1)
    # After the restart the belt stops two seconds in: far too soon to learn its speed again.
    stopping = belt(BeltEvent("stop", 2, 60))
    clock, sink = VirtualClock(T0 + 100), Sink()
    feed = SceneFeed(stopping, clock, start=T0 + 100)  # type: ignore[arg-type]
    await run_for(RuleRunner(settings(rule(stopping)), lambda c: feed, None, sink, tmp_path, clock), clock, 130.0)
    started = [e for e in sink.events if e.type is EventType.STARTED]
    assert len(started) == 1 and started[0].condition == "conveyor" and started[0].measured is not None
    assert started[0].measured["normal_speed_px_s"] == pytest.approx(20.0, rel=0.1)  # 40 px/s at 640 = 20 at 320
    assert started[0].measured["pct_of_normal"] < 15


async def test_a_second_jam_inside_the_cooldown_is_recorded_counted_and_started_late(tmp_path: Path) -> None:
    scene = belt(BeltEvent("stop", 15, 20), BeltEvent("stop", 50, 45))
    clock, sink = VirtualClock(T0), Sink()
    feed = SceneFeed(scene, clock)  # type: ignore[arg-type]
    before = STARTS_SUPPRESSED.labels("line1", "belt_stopped")._value.get()
    runner = RuleRunner(settings(rule(scene, cooldown_s=30)), lambda c: feed, None, sink, tmp_path, clock)
    await run_for(runner, clock, 110.0)
    kinds = [(e.type, e.id) for e in sink.events]
    assert [k for k, _ in kinds] == [EventType.STARTED, EventType.ENDED, EventType.SUPPRESSED, EventType.STARTED,
                                     EventType.ENDED]
    assert kinds[2][1] == kinds[3][1] != kinds[0][1]  # the late start continues the suppressed occurrence
    assert STARTS_SUPPRESSED.labels("line1", "belt_stopped")._value.get() == before + 1
