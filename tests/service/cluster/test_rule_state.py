"""Rule state in Redis: a camera's open alert survives a move to another node (another state directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.clock import VirtualClock
from alerts.errors import AlertsError
from alerts.event import EventType
from alerts.publisher import AlertPublisher
from alerts.runner import RuleRunner
from alerts.store import RuleStateStore
from service.cluster.rule_state import RedisRuleStore, rule_state_key
from service.embedded_redis import EmbeddedRedis
from tests.alerts.conftest import SceneFeed
from tests.alerts.helpers import redis_settings
from tests.alerts.test_runner import JAM_RULE, jam_scene, read_stream, run_for, settings


async def _two_owners(url: str, tmp_path: Path, in_redis: bool) -> list[EventType]:
    """Node A runs the camera until its alert is open, node B (its own state dir) takes it over to the end."""
    clock = VirtualClock(1_750_000_000.0)
    feed = SceneFeed(jam_scene(), clock)
    for node, until in (("a", 35.0), ("b", 70.0)):
        root = tmp_path / node
        store = RedisRuleStore(url, "line1", 1.0) if in_redis else RuleStateStore(root / "alerts")
        publisher = AlertPublisher(redis_settings(), url, root / "outbox")
        await publisher.start()
        runner = RuleRunner(settings(JAM_RULE), lambda c: feed, None, publisher, root / "alerts", clock, store=store)
        try:
            await run_for(runner, clock, until)
        finally:
            await publisher.stop()
    return [e.type for e in await read_stream(url)]


async def test_moved_camera_sends_no_second_started_and_its_ended_arrives(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    assert await _two_owners(redis_server.url, tmp_path, in_redis=True) == [EventType.STARTED, EventType.ENDED]


async def test_with_rule_state_on_each_nodes_disk_the_new_owner_would_announce_it_again(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    # the contrast that shows the Redis store is what prevents the duplicate (and the ended without its started)
    kinds = await _two_owners(redis_server.url, tmp_path, in_redis=False)
    assert kinds.count(EventType.STARTED) == 2


def test_store_round_trip_and_unreachable_redis_is_an_alerts_error(redis_server: EmbeddedRedis) -> None:
    store = RedisRuleStore(redis_server.url, "cam9", 1.0)
    assert store.load() == {}
    store.save({})
    assert store.load() == {}
    assert rule_state_key("cam9") == "vigil:rulestate:cam9"
    store.close()
    dead = RedisRuleStore("redis://127.0.0.1:1/0", "cam9", 0.2)
    with pytest.raises(AlertsError, match="cannot read rule state vigil:rulestate:cam9"):
        dead.load()
