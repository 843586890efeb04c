"""The composition root: build every part from settings, start in dependency order, stop in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from config.checks import advisories
from config.errors import VigilError
from config.settings import VigilSettings
from ingest.status import CameraStatus
from service.embedded_redis import EmbeddedRedis, RedisServerError
from service.logging import configure_logging
from service.status_hop import StatusHop

log = structlog.get_logger(__name__)
RUNTIME_FILE = "run/service.json"
LOCK_FILE = "run/service.lock"  # flock-ed by the live service; the kernel drops the lock when the process dies


class StateDirInUse(VigilError):
    """Another live `vigil run` already uses this state directory."""


class StateDirUnusable(VigilError):
    """state_dir cannot be created or is not a directory (a file there, no permission, read-only disk)."""


class Service:
    """Owns the lifecycle of one machine's parts. The constructor is cheap; start() opens, stop() closes."""

    def __init__(self, settings: VigilSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self._stack = contextlib.AsyncExitStack()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.redis_url = ""
        self.http_port = settings.api.port
        self.http_socket: socket.socket | None = None  # bound before anything slow starts

    async def start(self) -> None:
        """Start everything; if one part fails, stop what was started, in reverse, and re-raise."""
        self._loop = asyncio.get_running_loop()
        try:
            await self._start_parts()
        except BaseException:
            await self._stack.aclose()  # what did start stops, in reverse; the service itself never ran
            log.info("service.not_started")
            raise

    async def stop(self) -> None:
        await self._stack.aclose()
        log.info("service.stopped")

    async def _start_parts(self) -> None:
        from service.api import check_bind
        from service.wiring import start_parts

        check_bind(self.settings)  # before anything starts: a public bind without a token is refused
        self._make_state_dir()
        self._check_run_file()
        self.http_socket = self._reserve_http()  # a taken port fails now, not after the model has loaded
        self.redis_url = await self._start_redis()
        self.http_port = await start_parts(self, self._stack)
        self._write_runtime_file()

    def _make_state_dir(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file is there" if self.state_dir.is_file() else exc.strerror or str(exc)
            raise StateDirUnusable(
                f"state_dir {str(self.state_dir)!r} cannot be used as a directory ({why}); "
                "point state_dir at a directory this user can write"
            ) from exc

    async def _start_redis(self) -> str:
        if self.settings.redis.url is not None:
            return self.settings.redis.url.get_secret_value()
        port = self.settings.redis.embedded_port
        server = EmbeddedRedis(self.state_dir / "redis", port=port)
        await asyncio.to_thread(server.clear_stale)
        server.spawn()  # on the loop's thread: the server's parent-death signal follows the spawning thread
        self._stack.push_async_callback(asyncio.to_thread, server.stop)  # waits for the process: off the loop
        try:
            await asyncio.to_thread(server.wait_ready)
        except RedisServerError as exc:
            raise RedisServerError(f"{exc} (embedded redis-server on 127.0.0.1:{port}: is another one running "
                                   "there? set redis.embedded_port, 0 = any free port, or redis.url)") from exc
        return server.url

    def _check_run_file(self) -> None:
        """Refuse to share the state directory with a live service; a run file left by a dead one is stale.

        The lock file decides (held for the service's life, whatever its command line); the run file's pid and
        command line catch a service that takes no lock (an older version).
        """
        self._lock_state_dir()
        pid = read_runtime(self.state_dir).get("pid")
        if pid is None or int(pid) == os.getpid():
            return
        try:
            cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        if b"vigil" in cmdline:
            raise StateDirInUse(f"another `vigil run` (pid {pid}) uses state_dir {self.state_dir}: stop it first, "
                                "or give this service its own state_dir")
        log.warning("service.stale_run_file", pid=pid, state_dir=str(self.state_dir),
                    note="the previous service ended without stopping (killed?); its embedded Redis is checked next")

    def _lock_state_dir(self) -> None:
        path = self.state_dir / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            pid = read_runtime(self.state_dir).get("pid") or "unknown"
            raise StateDirInUse(f"another `vigil run` (pid {pid}) holds {path}: it uses state_dir {self.state_dir}; "
                                "stop it first, or give this service its own state_dir") from None
        self._stack.callback(handle.close)

    def _reserve_http(self) -> socket.socket | None:
        from service.http import bind_socket

        api = self.settings.api
        if not api.enabled:
            return None
        sock = bind_socket(api.host, api.port)
        self._stack.callback(sock.close)
        return sock

    def _write_runtime_file(self) -> None:
        # `vigil alerts tail` and `vigil ask` find the embedded Redis and the API through this file.
        path = self.state_dir / RUNTIME_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        embedded = self.settings.redis.url is None
        api = self.settings.api
        host = f"[{api.host}]" if ":" in api.host else api.host  # an IPv6 literal needs brackets in a URL
        info = {"pid": os.getpid(), "redis_url": self.redis_url if embedded else None,
                "api_url": f"http://{host}:{self.http_port}" if api.enabled else None,
                "stream": self.settings.redis.stream}
        path.write_text(json.dumps(info))
        self._stack.callback(path.unlink, missing_ok=True)

    def status_callback(self, sink: asyncio.Queue[CameraStatus]) -> StatusHop:
        assert self._loop is not None
        return StatusHop(self._loop, sink)


def read_runtime(state_dir: Path) -> dict[str, str | None]:
    path = state_dir / RUNTIME_FILE
    try:
        data: dict[str, str | None] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def run_service(settings: VigilSettings) -> int:
    """`vigil run`: start, wait for SIGINT/SIGTERM, stop gracefully; exit 0 on a clean stop."""
    configure_logging(settings.logging)
    for advice in advisories(settings):
        log.warning("config.advice", advice=advice)
    return asyncio.run(_run(settings))


async def _run(settings: VigilSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = Service(settings)
    await service.start()
    log.info("service.running", state_dir=str(settings.state_dir), api_port=service.http_port)
    await stop.wait()
    log.info("service.stopping")
    await service.stop()
    return 0


async def ping_redis(url: str, timeout_s: float) -> str | None:
    """None when Redis answers; otherwise the reason, for a clear start-up message."""
    client = aioredis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        await client.ping()
        return None
    except (aioredis.RedisError, OSError) as exc:
        return str(exc)
    finally:
        await client.aclose()
