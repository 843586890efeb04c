"""AlertPublisher against a real redis-server: stream, channel, outbox, exactly once and in order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from alerts.errors import PublishError
from alerts.event import AlertEvent
from alerts.metrics import OUTBOX_DROPPED, STATUS_DROPPED
from alerts.publisher import AlertPublisher
from ingest.status import CameraState, CameraStatus
from service.embedded_redis import EmbeddedRedis, free_port
from tests.alerts.conftest import check_schema
from tests.alerts.helpers import event, redis_settings


async def stream_events(url: str, stream: str = "vigil:alerts") -> list[AlertEvent]:
    client = aioredis.Redis.from_url(url)
    try:
        entries = await client.xrange(stream)
    finally:
        await client.aclose()
    return [AlertEvent.from_json(fields[b"event"]) for _, fields in entries]


async def until(predicate: Any, limit_s: float = 15.0) -> None:
    for _ in range(int(limit_s / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_event_goes_to_stream_with_its_id_and_to_the_camera_channel(
        redis_server: EmbeddedRedis, tmp_path: Path, event_schema: dict[str, Any]) -> None:
    listener = aioredis.Redis.from_url(redis_server.url)
    pubsub = listener.pubsub()
    await pubsub.subscribe("vigil:alerts:line1")
    await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await publisher.publish(event(1))
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
        entries = await listener.xrange("vigil:alerts")
    finally:
        await publisher.stop()
        await pubsub.aclose()
        await listener.aclose()
    assert message is not None and check_schema(message["data"], event_schema) == event(1)
    (_, fields), = entries
    assert fields[b"event_id"] == event(1).event_id.encode() and fields[b"type"] == b"started"
    assert check_schema(fields[b"event"], event_schema) == event(1)


async def test_resending_an_event_does_not_double_it(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        for n in (1, 2, 1, 2, 3):
            await publisher.publish(event(n))
    finally:
        await publisher.stop()
    assert [e.event_id for e in await stream_events(redis_server.url)] == [event(n).event_id for n in (1, 2, 3)]


async def test_redis_killed_and_restarted_every_event_arrives_once_in_order(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    server.start()
    publisher = AlertPublisher(redis_settings(), server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        for n in range(5):
            await publisher.publish(event(n))
        server.stop()
        for n in range(5, 15):
            await publisher.publish(event(n))
        assert publisher.pending() == 10
        server.start()
        for n in range(15, 20):
            await publisher.publish(event(n))
        await until(lambda: _done(publisher))
        got = await stream_events(server.url)
    finally:
        await publisher.stop()
        server.stop()
    assert [e.event_id for e in got] == [event(n).event_id for n in range(20)]


async def _done(publisher: AlertPublisher) -> bool:
    return publisher.pending() == 0


async def test_outbox_survives_a_service_restart_and_is_delivered_once(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=True)
    url, outbox = server.url, tmp_path / "outbox"
    first = AlertPublisher(redis_settings(), url, outbox)  # Redis is not running yet
    await first.start()
    for n in range(4):
        await first.publish(event(n))
    await first.stop()
    assert first.pending() == 4
    server.start()
    second = AlertPublisher(redis_settings(), url, outbox)
    await second.start()
    try:
        assert second.pending() == 4
        await second.publish(event(4))
        await until(lambda: _done(second))
        got = await stream_events(url)
    finally:
        await second.stop()
        server.stop()
    assert [e.event_id for e in got] == [event(n).event_id for n in range(5)]


async def test_full_outbox_refuses_the_newest_event_and_counts_it(tmp_path: Path) -> None:
    settings = redis_settings(outbox_max_bytes=1024)
    publisher = AlertPublisher(settings, f"redis://127.0.0.1:{free_port()}/0", tmp_path / "outbox")
    await publisher.start()
    before = OUTBOX_DROPPED.labels("line1")._value.get()
    try:
        assert publisher.deliverable  # Redis is away, but the outbox takes events: /readyz stays ready
        with pytest.raises(PublishError, match="outbox is full"):
            for n in range(10):
                await publisher.publish(event(n))
        assert not publisher.deliverable
    finally:
        await publisher.stop()
    assert publisher.pending() == 1  # one event of ~900 bytes fits in 1024
    assert OUTBOX_DROPPED.labels("line1")._value.get() == before + 1


async def test_camera_status_goes_to_the_status_channel(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    listener = aioredis.Redis.from_url(redis_server.url)
    pubsub = listener.pubsub()
    await pubsub.subscribe("vigil:status")
    await pubsub.get_message(timeout=1.0)
    publisher = AlertPublisher(redis_settings(), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await publisher.publish_status(CameraStatus("line1", CameraState.STALLED, CameraState.STREAMING, 1.0e9,
                                                    "no frame for 10 s"))
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
    finally:
        await publisher.stop()
        await pubsub.aclose()
        await listener.aclose()
    assert message is not None
    assert b'"state": "stalled"' in message["data"] and b'"online": false' in message["data"]


async def test_status_while_redis_is_away_is_counted_not_raised(tmp_path: Path) -> None:
    publisher = AlertPublisher(redis_settings(), f"redis://127.0.0.1:{free_port()}/0", tmp_path / "outbox")
    await publisher.start()
    before = STATUS_DROPPED.labels("line9")._value.get()
    try:
        await publisher.publish_status(CameraStatus("line9", CameraState.BACKOFF, CameraState.CONNECTING, 1.0e9))
    finally:
        await publisher.stop()
    assert STATUS_DROPPED.labels("line9")._value.get() == before + 1


async def test_an_event_redis_refuses_is_kept_and_sent_once_the_cause_is_fixed(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    await client.set("vigil:alerts", "not a stream")  # XADD fails with WRONGTYPE inside the script
    publisher = AlertPublisher(redis_settings(retry_s=0.05), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await publisher.publish(event(0))
        assert publisher.pending() == 1
        await client.delete("vigil:alerts")
        for _ in range(200):
            if not publisher.pending():
                break
            await asyncio.sleep(0.05)
    finally:
        await publisher.stop()
        entries = await client.xrange("vigil:alerts")
        await client.aclose()
    assert [AlertEvent.from_json(f[b"event"]).event_id for _, f in entries] == [event(0).event_id]
