"""`vigil run` killed with SIGKILL: its embedded redis-server ends with it, the next start runs exactly one
server on the data directory, and no event delivered before or after the crash is lost."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import redis

from alerts.event import AlertEvent
from service.embedded_redis import EmbeddedRedis
from tests.support.net import free_port
from tests.support.rtsp import wait_until
from tests.support.vigil import Running, demo_config, log_tail, redis_servers_under, vigil_run, write_config

pytestmark = pytest.mark.slow


def offline_config(tmp_path: Path, port: int, cameras: list[str]) -> Path:
    """Cameras whose RTSP server never answers: each one's camera_offline rule starts an alert within seconds."""
    dead = free_port()
    data = demo_config(tmp_path, port, engine={"enabled": False}, rules=[
        {"id": "offline", "cameras": "all", "condition": {"type": "camera_offline"}, "every_s": 1, "for_s": 1,
         "severity": "critical"}])
    data["cameras"] = [{"id": c, "name": c, "fps": 1.0, "source": {"type": "rtsp", "open_timeout_s": 2,
                                                                  "url": f"rtsp://127.0.0.1:{dead}/{c}"}}
                       for c in cameras]
    return write_config(tmp_path, data, name=f"vigil-{len(cameras)}.yaml")


def offline_events(url: str) -> list[AlertEvent]:
    with redis.Redis.from_url(url) as client:
        entries = client.xrange("vigil:alerts")
    return [AlertEvent.from_json(fields[b"event"]) for _, fields in entries]


def cameras_alerted(running: Running, wanted: set[str]) -> list[AlertEvent]:
    url = running.runtime()["redis_url"]
    assert wait_until(lambda: {e.camera for e in offline_events(url)} >= wanted, 240, poll_s=0.5), \
        log_tail(running.log_path)
    return offline_events(url)


def test_sigkill_of_vigil_run_leaves_no_redis_and_the_restart_loses_no_event(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "state"
    with vigil_run(offline_config(tmp_path, port, ["cam-a"]), port, state, stop_signal=signal.SIGKILL) as first:
        before = cameras_alerted(first, {"cam-a"})
        old_servers = redis_servers_under(state)
        assert len(old_servers) == 1
    assert wait_until(lambda: redis_servers_under(state) == [], 30), "redis-server outlived a SIGKILLed vigil run"

    with vigil_run(offline_config(tmp_path, port, ["cam-a", "cam-b"]), port, state, log_name="vigil-2.log") as again:
        after = cameras_alerted(again, {"cam-a", "cam-b"})
        assert len(redis_servers_under(state)) == 1
    assert again.exit_code == 0, log_tail(again.log_path)
    assert [e.event_id for e in after[: len(before)]] == [e.event_id for e in before]

    check = EmbeddedRedis(state / "redis")  # what the append-only file holds once every server has stopped
    check.start()
    try:
        kept = offline_events(check.url)
    finally:
        check.stop()
    assert [e.event_id for e in kept] == [e.event_id for e in after]
    assert [(e.camera, e.type.value) for e in kept].count(("cam-a", "started")) == 1
