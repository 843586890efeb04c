"""`vigil run` as a real subprocess for end-to-end tests: started on loopback, stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from config.loader import DEMO_CONFIG

VIGIL = Path(sys.executable).with_name("vigil")
STOP_TIMEOUT_S = 120  # a bound against a hang, not a timing check: a loaded machine stops slowly but cleanly


def demo_config(tmp_path: Path, port: int, **changes: Any) -> dict[str, Any]:
    """config/demo.yaml with its own state dir and loopback port; `changes` replace top-level keys."""
    data: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text())
    data["state_dir"] = str(tmp_path / "state")
    data["api"] = {"host": "127.0.0.1", "port": port}
    data["redis"] = {"embedded_port": 0}  # tests run beside each other and beside a `make run`
    data.update(changes)
    return data


def write_config(tmp_path: Path, data: dict[str, Any], name: str = "vigil.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class Running:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path
    state_dir: Path
    exit_code: int | None = None

    def runtime(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.state_dir / "run" / "service.json").read_text())
        return info


@contextlib.contextmanager
def vigil_run(config: Path, port: int, state_dir: Path, log_name: str = "vigil.log",
              stop_signal: signal.Signals = signal.SIGTERM) -> Iterator[Running]:
    """Yields once /readyz answers; at the end `stop_signal`, and the test asserts `exit_code == 0` afterwards."""
    log_path = config.parent / log_name
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([str(VIGIL), "run", "--config", str(config)], stdout=log_file,
                                   stderr=subprocess.STDOUT)
        running = Running(f"http://127.0.0.1:{port}", process, log_path, state_dir)
        try:
            wait_ready(running)
            yield running
        finally:
            process.send_signal(stop_signal)
            try:
                running.exit_code = process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(running: Running, timeout_s: float = 300) -> None:
    """Until /readyz answers and the run file is this process's; the bound is against a hang (a loaded machine
    imports torch slowly), not a timing check."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(f"vigil run exited with {running.process.returncode}:\n{log_tail(running.log_path)}")
        # the run file is written once HTTP is up (and one left by a killed run may still be there): wait for both
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError):
            if httpx.get(f"{running.base}/readyz", timeout=2).status_code == 200 and \
                    running.runtime().get("pid") == running.process.pid:
                return
        time.sleep(0.5)
    raise AssertionError(f"vigil run was not ready within {timeout_s:.0f} s:\n{log_tail(running.log_path)}")


def log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def redis_servers_under(state_dir: Path) -> list[int]:
    """PIDs of redis-server processes whose data lives under state_dir (the embedded one of that service)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((proc / "cwd").resolve())
        except OSError:
            continue
        if "redis-server" in cmdline and (str(state_dir) in cmdline or cwd.startswith(str(state_dir))):
            pids.append(int(proc.name))
    return pids
