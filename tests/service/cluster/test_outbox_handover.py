"""A camera's outbox lives under state_dir/cameras/{id}: on shared storage its new owner delivers what the dead
owner could not (nothing lost, nothing doubled)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.publisher import AlertPublisher
from service.cluster.camera_unit import camera_dir
from service.embedded_redis import EmbeddedRedis
from tests.alerts.helpers import event, redis_settings
from tests.alerts.test_runner import read_stream

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: Redis is away for the dying owner


async def test_new_owner_delivers_the_dead_owners_outbox(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    outbox = camera_dir(tmp_path / "shared-state", "line1") / "outbox"
    dying = AlertPublisher(redis_settings(), UNREACHABLE, outbox)
    await dying.start()
    sent = [event(1), event(2)]
    for e in sent:
        await dying.publish(e)  # returns once the event is durable: here, in the outbox on disk
    assert dying.pending() == 2
    await _die(dying)
    heir = AlertPublisher(redis_settings(), redis_server.url, outbox)
    await heir.start()
    try:
        for _ in range(200):  # the drainer delivers in the background: wait for it, bounded
            if heir.pending() == 0:
                break
            await asyncio.sleep(0.05)
        await heir.publish(sent[0])  # the dead owner's last event again (the runner's `unsent`): skipped
    finally:
        await heir.stop()
    assert [e.event_id for e in await read_stream(redis_server.url)] == [e.event_id for e in sent]


async def _die(publisher: AlertPublisher) -> None:
    """A crashed node: no flush, no goodbye; only what reached the disk remains."""
    drainer = publisher._drainer
    assert drainer is not None
    drainer.cancel()
    await asyncio.gather(drainer, return_exceptions=True)
