"""uvicorn serving the API inside our event loop; signals stay with the composition root."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI

from config.errors import VigilError

log = structlog.get_logger(__name__)
GRACE_S = 2  # open streams (the console's live alert feed) are closed after this on shutdown


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The composition root owns SIGINT/SIGTERM and stops every part in order; uvicorn must not
        # install its own handlers and re-raise the signal after shutting down.
        yield


class HttpServer:
    """Serves `app`; on `sock` when the caller bound it already (see bind_socket), else on host:port."""

    def __init__(self, app: FastAPI, host: str, port: int, sock: socket.socket | None = None) -> None:
        self._server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off",
                                              access_log=False, timeout_graceful_shutdown=GRACE_S))
        self._sock = sock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # We bind the socket ourselves: uvicorn answers a bind failure with sys.exit, which would tear down
        # the event loop instead of letting the composition root stop what it started.
        sock = self._sock or bind_socket(self._server.config.host, self._server.config.port)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why the server could not start (e.g. port in use)
                raise OSError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.02)
        log.info("http.started", url=f"http://{self._server.config.host}:{self.port}")

    @property
    def port(self) -> int:
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self._server.config.port

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        log.info("http.stopped")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port, or VigilError naming the port and what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise VigilError(f"cannot listen on {host}:{port} ({exc.strerror}); free the port or set api.port") from exc
    sock.set_inheritable(True)
    return sock
