"""An alert raised by an untrained model's answer says so, on the wire, in `alerts tail` and in the replay summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alerts.clock import VirtualClock
from alerts.event import AlertEvent
from alerts.runner import RuleRunner
from alerts.tail import format_event
from engine.api import ModelIdentity, TimeRange, YesNoAnswer
from ingest.status import CameraState, CameraStatus
from service.replay import summary
from tests.alerts.conftest import T0, ScriptedEngine, check_schema
from tests.alerts.test_runner import Sink, run_for, settings

UNTRAINED = ModelIdentity("tiny", None, "0123456789abcdef", trained=False)
TRAINED = ModelIdentity("videoxl2", "/models/Video-XL-2", "fedcba9876543210", trained=True)
FIRE = {"id": "fire", "every_s": 1, "for_s": 0, "severity": "critical",
        "condition": {"type": "question", "text": "Is it on fire?"}}
OFFLINE = {"id": "offline", "every_s": 1, "for_s": 0, "condition": {"type": "camera_offline"}}


class LabelledEngine(ScriptedEngine):
    def __init__(self, identity: ModelIdentity) -> None:
        super().__init__(lambda q, n: 0.95)
        self.identity = identity

    async def ask_yes_no(self, camera_id: str, questions: list[str], window_s: float | None = None) -> YesNoAnswer:
        answer = await super().ask_yes_no(camera_id, questions, window_s)
        return YesNoAnswer(camera_id, answer.questions, answer.p_yes, TimeRange(T0, T0), 1.0, self.identity)


async def _events(identity: ModelIdentity, tmp_path: Path, *rules: dict[str, Any]) -> list[AlertEvent]:
    sink, clock = Sink(), VirtualClock(T0)
    runner = RuleRunner(settings(*rules), lambda c: None, LabelledEngine(identity), sink, tmp_path, clock)
    await run_for(runner, clock, 3.0)
    return sink.events


async def test_an_untrained_models_alert_carries_its_identity_on_the_wire(
    tmp_path: Path, event_schema: dict[str, Any]
) -> None:
    events = await _events(UNTRAINED, tmp_path, FIRE)
    assert events and all(e.untrained for e in events)
    wire = check_schema(events[0].to_json(), event_schema)
    assert wire.model is not None and (wire.model.preset, wire.model.trained) == ("tiny", False)
    assert wire.model.label.startswith("UNTRAINED tiny model") and wire.model.fingerprint == UNTRAINED.fingerprint
    assert "[UNTRAINED MODEL]" in format_event(wire)
    text = summary(events, T0, tmp_path / "alerts.jsonl")
    assert "UNTRAINED model: not a detection" in text and "note: question-rule alerts come from an UNTRAINED" in text


async def test_a_trained_models_alert_is_labelled_with_its_checkpoint(tmp_path: Path) -> None:
    events = await _events(TRAINED, tmp_path, FIRE)
    assert events and not any(e.untrained for e in events)
    assert events[0].model is not None and events[0].model.checkpoint == "/models/Video-XL-2"
    assert "UNTRAINED" not in format_event(events[0]) + summary(events, T0, tmp_path / "a.jsonl")


async def test_detector_alerts_carry_no_model(tmp_path: Path) -> None:
    sink, clock = Sink(), VirtualClock(T0)
    runner = RuleRunner(settings(FIRE, OFFLINE), lambda c: None, LabelledEngine(UNTRAINED), sink, tmp_path, clock)
    await runner.start()
    try:
        runner.on_camera_status(CameraStatus("line1", CameraState.BACKOFF, CameraState.STREAMING, T0))
        await clock.run_until(T0 + 3, runner.schedules)
    finally:
        await runner.stop()
    by_rule = {e.rule: e for e in sink.events}
    assert by_rule["offline"].model is None and not by_rule["offline"].untrained
    assert by_rule["fire"].untrained  # the same tick's question rule is labelled


def test_events_written_before_the_field_existed_still_parse() -> None:
    old = AlertEvent.model_validate({
        "event_id": "x/0", "id": "x", "seq": 0, "type": "started", "rule": "r", "camera": "c",
        "condition": "question", "severity": "critical", "score": 0.9, "peak_score": 0.9,
        "started_at": "2026-11-30T00:00:00+00:00", "emitted_at": "2026-11-30T00:00:00+00:00",
        "snapshot": {"camera": "c", "at": "2026-11-30T00:00:00+00:00", "path": "/s"},
        "clip": {"camera": "c", "start": "2026-11-30T00:00:00+00:00", "end": "2026-11-30T00:00:00+00:00",
                 "path": "/c"},
    })
    assert old.model is None and not old.untrained
