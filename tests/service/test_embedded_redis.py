"""The embedded redis-server: real process, loopback only, persistent, always stopped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from service.embedded_redis import EmbeddedRedis, RedisServerError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/status").read_text().count("zombie")


def test_starts_on_loopback_and_persists_across_a_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        assert server.url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(server.url)
        client.xadd("vigil:alerts", {"event": "1"})
        client.close()
    finally:
        server.stop()
    again = EmbeddedRedis(tmp_path / "redis")
    again.start()
    try:
        client = redis.Redis.from_url(again.url)
        assert client.xlen("vigil:alerts") == 1  # the append-only file brought it back
        client.close()
    finally:
        again.stop()


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    server.start()
    pid = server.pid
    assert pid is not None and _alive(pid)
    server.stop()
    assert not _alive(pid)
    server.stop()  # stopping twice is harmless


def test_a_port_in_use_is_a_clear_error_and_nothing_is_left_running(tmp_path: Path,
                                                                     redis_server: EmbeddedRedis) -> None:
    clash = EmbeddedRedis(tmp_path / "clash", port=redis_server.port, appendonly=False)
    with pytest.raises(RedisServerError, match="exited"):
        clash.start()
    assert clash.pid is None
