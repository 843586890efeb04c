"""The run file (state_dir/run/service.json): a live `vigil run` on the same state directory refuses a second
one; a file left by a killed one is stale and only logged."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from service.app import LOCK_FILE, RUNTIME_FILE, Service, StateDirInUse
from tests.service.api_fakes import settings


def write_run_file(state: Path, pid: int) -> None:
    path = state / RUNTIME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "redis_url": None, "api_url": None}))


@contextmanager
def child(args: list[str], ready: str) -> Iterator[subprocess.Popen[str]]:
    """A child process that printed `ready` (so it has exec'ed and done its set-up), killed at the end."""
    process = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True)
    try:
        # until the child has exec'ed, /proc/<pid>/cmdline is still the parent's (pytest's)
        assert process.stdout is not None and process.stdout.readline() == f"{ready}\n"
        yield process
    finally:
        process.kill()
        process.wait()


def assert_a_second_start_is_refused(state: Path, pid: int) -> None:
    write_run_file(state, pid)
    service = Service(settings().model_copy(update={"state_dir": state}))
    with pytest.raises(StateDirInUse, match=f"pid {pid}"):
        service._check_run_file()


def test_a_live_service_on_the_state_directory_refuses_a_second_one(tmp_path: Path) -> None:
    # a process whose command line names vigil, as `vigil run` does
    with child(["import time; print('up', flush=True); time.sleep(600)", "vigil", "run"], "up") as other:
        assert_a_second_start_is_refused(tmp_path, other.pid)


def test_a_run_file_left_by_a_dead_service_is_only_reported(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass", "vigil"])
    gone.wait()
    write_run_file(tmp_path, gone.pid)
    service = Service(settings().model_copy(update={"state_dir": tmp_path}))
    with capture_logs() as logs:
        service._check_run_file()
    assert [e["pid"] for e in logs if e["event"] == "service.stale_run_file"] == [gone.pid]


def test_a_live_service_is_found_by_its_lock_whatever_its_command_line(tmp_path: Path) -> None:
    """`python -m service.cli run` names no `vigil`: the lock, not the command line, tells it is alive."""
    lock = tmp_path / LOCK_FILE
    lock.parent.mkdir(parents=True)
    hold = ("import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('held', flush=True); time.sleep(600)")
    with child([hold, str(lock)], "held") as holder:
        assert_a_second_start_is_refused(tmp_path, holder.pid)
    Service(settings().model_copy(update={"state_dir": tmp_path}))._check_run_file()  # its death freed the lock


async def test_a_refused_start_says_the_service_never_started(tmp_path: Path) -> None:
    with child(["import time; print('up', flush=True); time.sleep(600)", "vigil", "run"], "up") as other:
        write_run_file(tmp_path, other.pid)
        service = Service(settings().model_copy(update={"state_dir": tmp_path}))
        with capture_logs() as logs, pytest.raises(StateDirInUse):
            await service.start()
    events = [e["event"] for e in logs]
    assert "service.not_started" in events and "service.stopped" not in events
