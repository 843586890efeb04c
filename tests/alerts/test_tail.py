"""`vigil alerts tail` and the history reader against a real redis-server."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from alerts.event import EventType
from alerts.history import read_alerts
from alerts.publisher import AlertPublisher
from alerts.tail import format_event, tail
from service.embedded_redis import EmbeddedRedis, free_port
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
    out, ready = io.StringIO(), asyncio.Event()
    following = asyncio.create_task(tail(redis_server.url, "vigil:alerts", as_json=True, out=out, count=2,
                                         ready=ready))
    await asyncio.wait_for(ready.wait(), 30)
    await publish(redis_server.url, tmp_path, 2, 3)
    await asyncio.wait_for(following, 30)
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == [
        event(2).event_id, event(3).event_id]


async def test_group_consumer_resumes_after_what_it_acknowledged(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    first, second, ready = io.StringIO(), io.StringIO(), asyncio.Event()
    reading = asyncio.create_task(tail(redis_server.url, "vigil:alerts", group="ops", out=first, count=2,
                                       ready=ready))
    await asyncio.wait_for(ready.wait(), 30)
    await publish(redis_server.url, tmp_path, 1, 2, 3)
    await asyncio.wait_for(reading, 30)
    await asyncio.wait_for(tail(redis_server.url, "vigil:alerts", group="ops", out=second, count=1), 30)
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


async def until(probe: Callable[[], bool], timeout_s: float = 60) -> None:
    """Wait for a condition (a guard against a hang, not a timing assertion)."""
    async with asyncio.timeout(timeout_s):
        while not probe():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("group", [None, "ops"])
async def test_tail_reconnects_when_redis_goes_away_and_resumes_where_it_was(tmp_path: Path,
                                                                            group: str | None) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    server.start()
    out, err, ready = io.StringIO(), io.StringIO(), asyncio.Event()
    following = asyncio.create_task(tail(server.url, "vigil:alerts", group=group, as_json=True, out=out, count=3,
                                         ready=ready, err=err))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await publish(server.url, tmp_path, 1)
        await until(lambda: len(out.getvalue().splitlines()) == 1)
        await asyncio.to_thread(server.stop)  # "Connection closed by server"
        await until(lambda: "reconnecting" in err.getvalue())
        await asyncio.to_thread(server.start)  # same port, same append-only file
        await publish(server.url, tmp_path, 2, 3)
        await asyncio.wait_for(following, 60)
    finally:
        following.cancel()
        server.stop()
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == [
        event(n).event_id for n in (1, 2, 3)]
    assert following.exception() is None


async def test_plain_tail_backs_off_while_redis_stays_away(tmp_path: Path) -> None:
    """The plain reader's reconnection must wait for Redis to answer before the backoff starts over."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    server.start()
    out, err, ready, stop = io.StringIO(), io.StringIO(), asyncio.Event(), asyncio.Event()
    following = asyncio.create_task(tail(server.url, "vigil:alerts", out=out, ready=ready, err=err, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.to_thread(server.stop)
        await until(lambda: err.getvalue().count("reconnecting") >= 3)
    finally:
        stop.set()
        await asyncio.wait_for(following, 30)
        server.stop()
    waits = [line.rsplit("reconnecting in ", 1)[1] for line in err.getvalue().splitlines()[:3]]
    assert waits == ["0.5 s", "1.0 s", "2.0 s"]


@pytest.mark.parametrize("group", [None, "ops"])
async def test_tail_follows_redis_to_its_new_port(tmp_path: Path, group: str | None) -> None:
    """A restarted service's embedded Redis (embedded_port: 0) listens elsewhere; the tail asks for the URL anew."""
    first = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    first.start()
    where = [first.url]
    out, err, ready = io.StringIO(), io.StringIO(), asyncio.Event()
    following = asyncio.create_task(tail(lambda: where[0], "vigil:alerts", group=group, as_json=True, out=out,
                                         count=3, ready=ready, err=err))
    second = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await publish(first.url, tmp_path, 1)
        await until(lambda: len(out.getvalue().splitlines()) == 1)
        await asyncio.to_thread(first.stop)
        await until(lambda: "reconnecting" in err.getvalue())
        await asyncio.to_thread(second.start)  # same append-only file, another port
        where[0] = second.url
        await publish(second.url, tmp_path, 2, 3)
        await asyncio.wait_for(following, 60)
    finally:
        following.cancel()
        first.stop()
        second.stop()
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == [
        event(n).event_id for n in (1, 2, 3)]
    assert err.getvalue().splitlines()[-1] == f"following vigil:alerts again on {second.url}"
