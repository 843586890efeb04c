"""The `vigil` command line as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from config.loader import DEMO_CONFIG
from tests.support.net import free_port
from tests.support.vigil import demo_config, log_tail, redis_servers_under, vigil_run, write_config

VIGIL = [sys.executable, "-m", "service.cli"]


def _vigil(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIGIL, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_check_config_summarizes_the_demo() -> None:
    result = _vigil("check-config", str(DEMO_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "line1" in result.stdout and "conveyor_jam" in result.stdout


def test_check_config_accepts_the_factory_example_and_hides_its_secrets() -> None:
    env = {"CAM_PASSWORD": "pa55word", "VIGIL_API_TOKEN": "t0ken"}
    result = _vigil("check-config", str(DEMO_CONFIG.with_name("factory.example.yaml")), env=env)
    assert result.returncode == 0, result.stderr
    assert "press-hall-1" in result.stdout and "rtsp://***@10.20.0.11" in result.stdout
    assert "pa55word" not in result.stdout + result.stderr and "t0ken" not in result.stdout


def test_check_config_exits_2_and_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine: {modle: tiny}\nrules:\n  - id: r\n    cameras: [ghost]\n"
                   "    condition: {type: question, text: 'is it?'}\n")
    result = _vigil("check-config", str(bad))
    assert result.returncode == 2
    assert "engine.modle" in result.stderr and "rules[0].cameras[0]" in result.stderr


def test_check_config_on_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _vigil("check-config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read the file" in result.stderr


def test_vigil_run_stops_cleanly_on_sigint_and_leaves_no_redis_server(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state"
    config = write_config(tmp_path, demo_config(tmp_path, port))
    with vigil_run(config, port, state, stop_signal=signal.SIGINT) as running:
        assert len(redis_servers_under(state)) == 1  # the embedded one is up while the service runs
        assert running.runtime()["api_url"] == running.base
    assert running.exit_code == 0, log_tail(running.log_path)
    assert redis_servers_under(state) == []
    assert not (state / "run" / "service.json").exists()


def test_ask_refuses_a_window_that_is_not_a_finite_positive_number() -> None:
    for window in ("1e309", "nan", "-5", "0", "soon"):
        result = _vigil("ask", "line1", "Is the belt moving?", "--yes-no", "--window", window,
                        "--url", "http://127.0.0.1:9")  # refused before any request: nothing need listen
        assert result.returncode == 2, result.stderr
        assert "argument --window" in result.stderr and "Traceback" not in result.stderr
