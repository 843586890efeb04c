"""The embedded redis-server: real process, loopback only, persistent, always stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from service.embedded_redis import EmbeddedRedis, RedisServerError, free_port, redis_server_binary
from service.redis_claim import Claim, servers_on, write_claim
from tests.support.rtsp import wait_until


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


def test_the_server_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from service.embedded_redis import EmbeddedRedis; "
            f"s = EmbeddedRedis(Path({str(tmp_path / 'redis')!r})); s.start(); "
            "print(s.pid, file=sys.stderr, flush=True); time.sleep(600)")
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        assert owner.stderr is not None
        pid = int(owner.stderr.readline())
        assert _alive(pid) and servers_on(tmp_path / "redis") == [pid]
    finally:
        owner.kill()  # SIGKILL: the owner cannot stop its server; the parent-death signal must
        owner.wait()
    assert wait_until(lambda: not _alive(pid), 30), "redis-server outlived the process that started it"


def test_a_start_stops_the_server_a_dead_owner_left_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "redis", free_port()
    data_dir.mkdir()
    launcher = subprocess.run(  # the shell exits at once: the server is left without its owner, as after SIGKILL
        ["sh", "-c", f"{redis_server_binary()} --port {port} --bind 127.0.0.1 --save '' --appendonly yes "
                     f"--dir {data_dir.resolve()} >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    orphan = int(launcher.stdout)
    write_claim(data_dir, Claim(orphan, owner_pid=999_999_999, port=port))
    client = redis.Redis(port=port)
    assert wait_until(lambda: _pings(client), 30)
    client.xadd("vigil:alerts", {"event": "delivered by the orphan"})
    client.close()
    server = EmbeddedRedis(data_dir)
    server.start()
    try:
        assert not _alive(orphan) and servers_on(data_dir) == [server.pid]
        with redis.Redis.from_url(server.url) as again:
            assert again.xlen("vigil:alerts") == 1  # the orphan finished its append-only file before it ended
    finally:
        server.stop()
    assert servers_on(data_dir) == []


def test_a_second_server_on_a_data_directory_in_use_is_refused(redis_server: EmbeddedRedis) -> None:
    second = EmbeddedRedis(redis_server.data_dir, appendonly=False)
    with pytest.raises(RedisServerError, match="another `vigil run` uses this state_dir"):
        second.start()
    assert servers_on(redis_server.data_dir) == [redis_server.pid]


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
