"""On Redis Cluster a Lua script's keys must share one hash slot: with a hash-tagged stream name
(`redis.stream: "{vigil:alerts}"`, docs/cluster.md) every key one publish touches does."""

from __future__ import annotations

from pathlib import Path

import redis
from redis.crc import key_slot

from alerts.publisher import AlertPublisher
from service.embedded_redis import EmbeddedRedis
from tests.alerts.helpers import event, redis_settings


async def test_every_key_of_a_publish_shares_the_streams_slot(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    stream = "{vigil:alerts}"
    publisher = AlertPublisher(redis_settings(stream=stream), redis_server.url, tmp_path / "outbox")
    await publisher.start()
    try:
        await publisher.publish(event(1))
    finally:
        await publisher.stop()
    keys = redis.Redis.from_url(redis_server.url).keys("*")
    assert stream.encode() in keys and len(keys) >= 2  # the stream and the event's dedup key
    assert {key_slot(k) for k in keys} == {key_slot(stream.encode())}


def test_without_a_hash_tag_the_keys_would_span_slots() -> None:
    # the contrast: the default stream name and its dedup keys hash apart, hence the documented setting
    assert key_slot(b"vigil:alerts") != key_slot(b"vigil:alerts:seen:line1:jam:1/0")
