"""`vigil run` against a real password-protected redis-server whose password holds URL delimiters."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis

from service.embedded_redis import redis_server_binary
from tests.support.net import free_port
from tests.support.vigil import vigil_run, write_config

PASSWORD = "Sl/ash p@ss#?:1"


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path), "--requirepass", PASSWORD],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, socket_connect_timeout=0.5)
    try:
        for _ in range(400):  # up to ~20 s for the server to answer
            try:
                if client.ping():
                    break
            except redis.RedisError:
                time.sleep(0.05)
        yield port
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_a_redis_password_with_delimiters_connects_and_is_never_logged(tmp_path: Path, protected_redis: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PW", PASSWORD)
    port = free_port()
    data = {
        "state_dir": str(tmp_path / "state"), "engine": {"enabled": False},
        "api": {"host": "127.0.0.1", "port": port},
        "redis": {"url": f"redis://:${{REDIS_PW}}@127.0.0.1:{protected_redis}/0"},
        "cameras": [{"id": "line1", "source": {"type": "synthetic", "width": 160, "height": 96}}],
        "rules": [{"id": "line1_offline", "cameras": "all", "condition": {"type": "camera_offline"}}],
    }
    with vigil_run(write_config(tmp_path, data), port, tmp_path / "state") as running:
        ready = httpx.get(f"{running.base}/readyz", timeout=10).json()
        with redis.Redis(host="127.0.0.1", port=protected_redis, password=PASSWORD) as probe:
            clients = probe.client_list()
    assert running.exit_code == 0
    assert ready["redis"] is True
    assert len(clients) >= 2  # the service holds authenticated connections besides this probe
    log = running.log_path.read_text(errors="replace")
    for form in (PASSWORD, quote(PASSWORD, safe=""), PASSWORD[:5], quote(PASSWORD, safe="")[:6]):
        assert form not in log
    assert "Traceback" not in log
