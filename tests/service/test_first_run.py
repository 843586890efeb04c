"""What a new user meets first: the README's commands on a fresh checkout, a busy port, finding the service."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.vigil import demo_config, log_tail, vigil_run, write_config

ROOT = Path(__file__).resolve().parents[2]
VIGIL = [sys.executable, "-m", "service.cli"]


def readme_commands(prefix: str) -> list[str]:
    """Lines of the README's shell blocks that run `.venv/bin/vigil` with `prefix` (env assignments allowed)."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if re.search(rf"\.venv/bin/vigil {re.escape(prefix)}\b", line)]


def run_as_written(line: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(line)
    env = {k: v for k, v in os.environ.items() if k not in {"VIGIL_API_TOKEN", "CAM_PASSWORD"}}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == ".venv/bin/vigil"
    return subprocess.run([*VIGIL, *words[1:]], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)


def test_the_readme_check_config_commands_work_on_a_fresh_checkout() -> None:
    commands = readme_commands("check-config")
    assert any("factory.example.yaml" in c for c in commands), commands
    for line in commands:
        result = run_as_written(line)  # neither VIGIL_API_TOKEN nor CAM_PASSWORD is set beforehand
        assert result.returncode == 0, f"{line}\n{result.stderr}"


def test_a_busy_http_port_is_refused_before_the_model_loads(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, demo_config(tmp_path, port))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run([*VIGIL, "run", "--config", str(config)], capture_output=True, text=True,
                                timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"cannot listen on 127.0.0.1:{port}" in output
    assert "engine.started" not in output and "redis.embedded.started" not in output


@pytest.mark.slow
def test_vigil_info_prints_every_address_of_the_running_service(tmp_path: Path) -> None:
    port, redis_port = free_port(), free_port()
    data = demo_config(tmp_path, port)
    data["redis"] = {"embedded_port": redis_port}
    config = write_config(tmp_path, data)
    with vigil_run(config, port, tmp_path / "state") as running:
        result = subprocess.run([*VIGIL, "info", "--config", str(config)], capture_output=True, text=True,
                                timeout=60)
    assert running.exit_code == 0, log_tail(running.log_path)
    assert result.returncode == 0, result.stderr
    assert f"running, pid {running.process.pid}" in result.stdout
    assert f"console  http://127.0.0.1:{port}/" in result.stdout
    assert f"redis    redis://127.0.0.1:{redis_port}/0 (embedded)" in result.stdout
    assert f"metrics  http://127.0.0.1:{port}/metrics" in result.stdout


def test_vigil_info_before_the_start_never_shows_port_0(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\napi: {{port: 0}}\nredis: {{embedded_port: 0}}\n")
    result = subprocess.run([*VIGIL, "info", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "not running" in result.stdout and ":0/" not in result.stdout
    assert "console  http://127.0.0.1:<free port picked at start>/" in result.stdout
    assert "redis    redis://127.0.0.1:<free port picked at start>/0 (embedded)" in result.stdout
