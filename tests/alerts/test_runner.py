"""RuleRunner on a virtual clock over the synthetic scene: timing of alerts, restarts, failures, batching."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from alerts.clock import VirtualClock
from alerts.errors import OutboxError
from alerts.event import AlertEvent, EventType, unix
from alerts.metrics import RULE_EVALUATIONS
from alerts.publisher import AlertPublisher
from alerts.runner import RuleRunner
from config.cameras import SyntheticSource
from config.settings import VigilSettings
from engine.api import EngineError
from ingest.frame import Frame
from ingest.scene import FactoryScene
from ingest.status import CameraState, CameraStatus
from service.embedded_redis import EmbeddedRedis
from tests.alerts.conftest import T0, SceneFeed, ScriptedEngine, check_schema
from tests.alerts.helpers import redis_settings

JAM_AT, JAM_FOR = 20.0, 30.0
JAM_RULE = {"id": "conveyor_jam", "cameras": ["line1"], "every_s": 1, "for_s": 5, "clear_for_s": 5,
            "clear_below": 0.3, "condition": {"type": "motion", "region": [[0.05, 0.45], [0.95, 0.75]],
                                              "direction": [1, 0], "below": 0.02}}


def settings(*rules: dict[str, Any], cameras: tuple[str, ...] = ("line1",)) -> VigilSettings:
    cams = [{"id": c, "source": {"type": "synthetic"}} for c in cameras]
    return VigilSettings.model_validate({"cameras": cams, "rules": list(rules)})


def jam_scene() -> FactoryScene:
    return FactoryScene(SyntheticSource(seed=5, width=320, height=180,
                                        events=[{"kind": "jam", "start_s": JAM_AT, "duration_s": JAM_FOR}]))


class Sink:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    async def publish(self, event: AlertEvent) -> None:
        self.events.append(event)


async def read_stream(url: str) -> list[AlertEvent]:
    client = aioredis.Redis.from_url(url)
    try:
        return [AlertEvent.from_json(f[b"event"]) for _, f in await client.xrange("vigil:alerts")]
    finally:
        await client.aclose()


async def run_for(runner: RuleRunner, clock: VirtualClock, until: float) -> None:
    await runner.start()
    try:
        await clock.run_until(T0 + until, sleepers=runner.schedules)
    finally:
        await runner.stop()


async def test_jam_raises_started_then_ended_on_time_on_stream_and_channel(
        redis_server: EmbeddedRedis, tmp_path: Path, event_schema: dict[str, Any]) -> None:
    clock = VirtualClock(T0)
    feed = SceneFeed(jam_scene(), clock)
    listener = aioredis.Redis.from_url(redis_server.url)
    pubsub = listener.pubsub()
    await pubsub.subscribe("vigil:alerts:line1")
    await pubsub.get_message(timeout=1.0)
    publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await run_for(RuleRunner(settings(JAM_RULE), lambda c: feed, None, publisher, tmp_path / "alerts", clock),
                      clock, 70.0)
        live = [await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0) for _ in range(2)]
    finally:
        await publisher.stop()
        await pubsub.aclose()
        await listener.aclose()
    started, ended = [check_schema(e.to_json(), event_schema) for e in await read_stream(redis_server.url)]
    assert (started.type, ended.type) == (EventType.STARTED, EventType.ENDED) and started.id == ended.id
    # Detection lags the scene by the tick that first sees only frozen frames: at most one period (1 s).
    assert 0.0 <= unix(started.emitted_at) - (T0 + JAM_AT + 5.0) <= 1.0
    assert 0.0 <= unix(ended.emitted_at) - (T0 + JAM_AT + JAM_FOR + 5.0) <= 1.0
    assert [AlertEvent.from_json(m["data"]) for m in live if m] == [started, ended]


async def test_restart_during_active_alert_sends_no_second_started(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    feed = SceneFeed(jam_scene(), clock)
    for until in (35.0, 45.0, 70.0):  # three service lifetimes: the alert opens in the first, ends in the third
        publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
        await publisher.start()
        runner = RuleRunner(settings(JAM_RULE), lambda c: feed, None, publisher, tmp_path / "alerts", clock)
        await run_for(runner, clock, until)
        await publisher.stop()
    events = await read_stream(redis_server.url)
    assert [e.type for e in events] == [EventType.STARTED, EventType.ENDED]
    assert events[0].id == events[1].id and events[1].seq == 1


async def test_event_recorded_but_not_sent_before_a_crash_is_sent_on_restart(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    class Hanging(Sink):
        attempted = asyncio.Event()

        async def publish(self, event: AlertEvent) -> None:
            self.attempted.set()
            await asyncio.Event().wait()  # the process dies while the event is on its way

    clock = VirtualClock(T0)
    feed = SceneFeed(jam_scene(), clock)
    crashed = RuleRunner(settings(JAM_RULE), lambda c: feed, None, Hanging(), tmp_path / "alerts", clock)
    await crashed.start()
    advancing = asyncio.create_task(clock.run_until(T0 + 40.0, crashed.schedules))
    await asyncio.wait_for(Hanging.attempted.wait(), 20.0)
    advancing.cancel()
    await crashed.stop()
    publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await run_for(RuleRunner(settings(JAM_RULE), lambda c: feed, None, publisher, tmp_path / "alerts", clock),
                      clock, 70.0)
    finally:
        await publisher.stop()
    events = await read_stream(redis_server.url)
    assert [e.type for e in events] == [EventType.STARTED, EventType.ENDED] and events[0].id == events[1].id


async def test_failing_rule_is_reported_retried_and_never_stops_the_others(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    good = SceneFeed(jam_scene(), clock)

    class Broken:
        calls = 0

        def since(self, seq: int) -> list[Frame]:
            return good.since(seq)

        def latest(self) -> Frame | None:
            Broken.calls += 1
            if Broken.calls <= 10:
                raise RuntimeError("decoder exploded")
            return good.latest()

    bad_rule = JAM_RULE | {"id": "bad_jam", "cameras": ["bad"]}
    sink = Sink()
    before = RULE_EVALUATIONS.labels("bad", "bad_jam", "error")._value.get()
    runner = RuleRunner(settings(JAM_RULE, bad_rule, cameras=("line1", "bad")),
                        lambda c: good if c == "line1" else Broken(), None, sink, tmp_path / "alerts", clock)
    await run_for(runner, clock, 60.0)
    assert RULE_EVALUATIONS.labels("bad", "bad_jam", "error")._value.get() - before == 10
    assert [e.type for e in sink.events if e.camera == "line1"] == [EventType.STARTED, EventType.ENDED]
    assert runner.scores("bad")["bad_jam"]  # retried, and scoring once the feed recovered


async def test_question_rules_of_a_camera_share_one_engine_call_per_tick(tmp_path: Path) -> None:
    def q(rule_id: str, text: str, every: float) -> dict[str, Any]:
        return {"id": rule_id, "every_s": every, "threshold": 0.8, "condition": {"type": "question", "text": text}}

    engine = ScriptedEngine(lambda question, n: 0.95 if question == "Is it on fire?" else 0.1)
    sink, clock = Sink(), VirtualClock(T0)
    runner = RuleRunner(settings(q("fire", "Is it on fire?", 5), q("spill", "Is oil spilled?", 5),
                                 q("door", "Is the door open?", 10)),
                        lambda c: None, engine, sink, tmp_path / "alerts", clock)
    await run_for(runner, clock, 19.0)
    five = [qs for _, qs in engine.calls if len(qs) == 2]
    ten = [qs for _, qs in engine.calls if len(qs) == 1]
    assert five == [("Is it on fire?", "Is oil spilled?")] * 4 and ten == [("Is the door open?",)] * 2
    assert [(e.rule, e.type, e.question) for e in sink.events] == [("fire", EventType.STARTED, "Is it on fire?")]
    assert [s for _, s in runner.scores("line1")["spill"]] == [0.1] * 4


async def test_engine_without_answers_gives_no_score_and_no_crash(tmp_path: Path) -> None:
    engine = ScriptedEngine(fail_with=EngineError("camera line1: nothing seen yet"))
    sink, clock = Sink(), VirtualClock(T0)
    rule = {"id": "fire", "every_s": 2, "for_s": 0, "condition": {"type": "question", "text": "Is it on fire?"}}
    runner = RuleRunner(settings(rule), lambda c: None, engine, sink, tmp_path / "alerts", clock)
    await run_for(runner, clock, 9.0)
    assert len(engine.calls) == 5 and sink.events == [] and runner.scores("line1") == {"fire": []}


async def test_explanation_is_asked_once_and_sent_as_an_update(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda question, n: 0.9)
    sink, clock = Sink(), VirtualClock(T0)
    rule = {"id": "fire", "every_s": 1, "explain": True, "condition": {"type": "question", "text": "Is it on fire?"}}
    await run_for(RuleRunner(settings(rule), lambda c: None, engine, sink, tmp_path / "alerts", clock), clock, 5.0)
    assert [e.type for e in sink.events] == [EventType.STARTED, EventType.UPDATED]
    assert sink.events[1].explanation == "Boxes are stuck at the end of the belt." and len(engine.texts) == 1


async def test_camera_offline_rule_follows_camera_status(tmp_path: Path) -> None:
    sink, clock = Sink(), VirtualClock(T0)
    rule = {"id": "offline", "every_s": 1, "for_s": 3, "condition": {"type": "camera_offline"}}
    runner = RuleRunner(settings(rule), lambda c: None, None, sink, tmp_path / "alerts", clock)
    await runner.start()
    try:
        runner.on_camera_status(CameraStatus("line1", CameraState.STREAMING, CameraState.CONNECTING, T0))
        await clock.run_until(T0 + 5, runner.schedules)
        runner.on_camera_status(CameraStatus("line1", CameraState.BACKOFF, CameraState.STREAMING, T0 + 5))
        await clock.run_until(T0 + 12, runner.schedules)
        runner.on_camera_status(CameraStatus("line1", CameraState.STREAMING, CameraState.CONNECTING, T0 + 12))
        await clock.run_until(T0 + 15, runner.schedules)
    finally:
        await runner.stop()
    assert [(e.type, unix(e.started_at) - T0) for e in sink.events] == [
        (EventType.STARTED, 6.0), (EventType.ENDED, 6.0)]
    assert unix(sink.events[0].emitted_at) - T0 == 9.0 and unix(sink.events[1].ended_at or "") - T0 == 13.0


async def test_an_event_the_outbox_could_not_take_is_retried_and_nothing_overtakes_it(tmp_path: Path) -> None:
    class Flaky(Sink):
        failures = 3

        async def publish(self, event: AlertEvent) -> None:
            if self.failures:
                self.failures -= 1
                raise OutboxError("cannot append to the alert outbox: No space left on device")
            await super().publish(event)

    clock, sink = VirtualClock(T0), Flaky()
    feed = SceneFeed(jam_scene(), clock)
    await run_for(RuleRunner(settings(JAM_RULE), lambda c: feed, None, sink, tmp_path / "alerts", clock), clock, 70.0)
    assert [e.type for e in sink.events] == [EventType.STARTED, EventType.ENDED]
    assert sink.events[0].id == sink.events[1].id
