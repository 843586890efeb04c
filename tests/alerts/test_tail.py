"""`vigil alerts tail` and the history reader against a real redis-server."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import redis.asyncio as aioredis

from alerts.event import EventType
from alerts.history import read_alerts
from alerts.publisher import AlertPublisher
from alerts.tail import format_event, tail
from service.embedded_redis import EmbeddedRedis
from tests.alerts.helpers import T, event, redis_settings


async def publish(url: str, tmp_path: Path, *numbers: int, camera: str = "line1") -> None:
    publisher = AlertPublisher(redis_settings(), url, tmp_path / "outbox")
    await publisher.start()
    try:
        for n in numbers:
            await publisher.publish(event(n, camera=camera))
    finally:
        await publisher.stop()


async def test_tail_from_now_prints_only_new_events_as_json(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    await publish(redis_server.url, tmp_path, 1)  # already there: not printed
    out = io.StringIO()
    following = asyncio.create_task(tail(redis_server.url, "vigil:alerts", as_json=True, out=out, count=2))
    await asyncio.sleep(0.3)
    await publish(redis_server.url, tmp_path, 2, 3)
    await asyncio.wait_for(following, 10)
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == [
        event(2).event_id, event(3).event_id]


async def test_group_consumer_resumes_after_what_it_acknowledged(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    first, second = io.StringIO(), io.StringIO()
    reading = asyncio.create_task(tail(redis_server.url, "vigil:alerts", group="ops", out=first, count=2))
    await asyncio.sleep(0.3)
    await publish(redis_server.url, tmp_path, 1, 2, 3)
    await asyncio.wait_for(reading, 10)
    await asyncio.wait_for(tail(redis_server.url, "vigil:alerts", group="ops", out=second, count=1), 10)
    assert [line.split(" id=")[1].split()[0] for line in first.getvalue().splitlines()] == [
        event(1).id, event(2).id]
    assert event(3).id in second.getvalue()
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        pending = await client.xpending("vigil:alerts", "ops")
    finally:
        await client.aclose()
    assert pending["pending"] == 0


def test_readable_line_names_severity_type_rule_camera_and_clip() -> None:
    line = format_event(event(1, kind=EventType.ENDED))
    assert "WARNING" in line and " ended " in line and "jam @ line1" in line and "clip=/api/cameras/line1/" in line


async def test_read_alerts_filters_newest_first(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    await publish(redis_server.url, tmp_path, 1, 2, 3)
    await publish(redis_server.url, tmp_path, 4, 5, camera="line2")
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        everything = await read_alerts(client, "vigil:alerts")
        line1 = await read_alerts(client, "vigil:alerts", camera="line1", limit=2)
        none = await read_alerts(client, "vigil:alerts", rule="other")
        future = await read_alerts(client, "vigil:alerts", since=T + 10 * 365 * 86400)
    finally:
        await client.aclose()
    assert [e.id for e in everything] == [event(n, c).id for n, c in
                                          ((5, "line2"), (4, "line2"), (3, "line1"), (2, "line1"), (1, "line1"))]
    assert [e.id for e in line1] == [event(3).id, event(2).id] and none == [] and future == []
