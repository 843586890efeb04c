"""One redis-server per data directory: the claim file, and what a start does with a server left behind.

A `vigil run` killed with SIGKILL cannot stop its embedded redis-server. The server is spawned with a
parent-death signal (Linux prctl(PR_SET_PDEATHSIG), see prctl(2)), so it normally ends with its parent; a start
still looks for any redis-server whose `--dir` is this data directory (/proc, Linux) and stops it when its owner
is gone, or refuses to start when a live owner still uses it. Two servers on one append-only file would each
rewrite it and erase what the other delivered.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from config.errors import VigilError

log = structlog.get_logger(__name__)
CLAIM_FILE = "embedded.json"


class RedisServerError(VigilError):
    """The embedded redis-server could not be started."""


@dataclass(frozen=True)
class Claim:
    """Who runs the server on a data directory: written once the server answers, removed when it stops."""

    redis_pid: int
    owner_pid: int  # the process that spawned it (`vigil run`, a test)
    port: int


def write_claim(data_dir: Path, claim: Claim) -> None:
    (data_dir / CLAIM_FILE).write_text(json.dumps(asdict(claim)))


def read_claim(data_dir: Path) -> Claim | None:
    try:
        return Claim(**json.loads((data_dir / CLAIM_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def drop_claim(data_dir: Path) -> None:
    (data_dir / CLAIM_FILE).unlink(missing_ok=True)


def servers_on(data_dir: Path) -> list[int]:
    """PIDs of live redis-server processes working in `data_dir` (zombies excluded).

    redis-server rewrites its command line (the process title), but it chdirs to its `--dir`: its working
    directory names the data directory it writes."""
    wanted = data_dir.resolve()
    found: list[int] = []
    if not Path("/proc").is_dir():  # not Linux: no process table to read
        return found
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            program = (proc / "cmdline").read_bytes().split(b"\0", 1)[0].split(b" ", 1)[0]
            cwd = (proc / "cwd").resolve(strict=True)
        except OSError:
            continue
        if "redis-server" in os.path.basename(program.decode(errors="replace")) and cwd == wanted \
                and alive(int(proc.name)):
            found.append(int(proc.name))
    return sorted(found)


def parent_of(pid: int) -> int | None:
    """The parent PID from /proc/<pid>/stat (field 4, after the parenthesised command name)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status


def clear_stale(data_dir: Path, timeout_s: float) -> None:
    """Stop every redis-server left on `data_dir` by an owner that is gone; refuse if its owner still runs."""
    claim = read_claim(data_dir)
    for pid in servers_on(data_dir):
        parent = parent_of(pid)
        owner_alive = parent is not None and parent != 1 and (claim is None or claim.redis_pid != pid or
                                                              parent == claim.owner_pid)
        if owner_alive:
            raise RedisServerError(
                f"a redis-server (pid {pid}, started by pid {parent}) already serves the data directory "
                f"{data_dir}: another `vigil run` uses this state_dir; stop it first, or give this one its own "
                "state_dir")
        log.warning("redis.embedded.stale_server", pid=pid, data_dir=str(data_dir),
                    action="its owner is gone: stopping it (SIGTERM, so it finishes its append-only file)")
        stop_pid(pid, timeout_s)
    drop_claim(data_dir)


def stop_pid(pid: int, timeout_s: float) -> None:
    """SIGTERM, wait until it is gone, SIGKILL if it does not end within timeout_s."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout_s
        time.sleep(0.05)
