"""`vigil run --cluster`: join Ray, start the coordinator and the one HTTP front, stop in reverse on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal

import redis.asyncio as aioredis
import structlog

from config.errors import ConfigError, ConfigIssue
from config.settings import VigilSettings
from service.api import check_bind
from service.app import RUNTIME_FILE
from service.cluster.coordinator import Coordinator
from service.cluster.front import ClusterContext, create_front
from service.cluster.ray_session import connect, disconnect
from service.http import HttpServer
from service.logging import configure_logging

log = structlog.get_logger(__name__)


def redis_url_of(settings: VigilSettings) -> str:
    """Cluster mode publishes to one Redis that every node reaches: redis.url must name it."""
    if settings.redis.url is None:
        issue = ConfigIssue("redis.url", "cluster mode needs one Redis that every node reaches; set redis.url "
                            "(e.g. redis://vigil-redis:6379/0); the embedded redis-server serves one machine only")
        raise ConfigError("cluster", [issue])
    return settings.redis.url.get_secret_value()


def run_cluster(settings: VigilSettings) -> int:
    """Join Ray on the main thread, run until SIGINT/SIGTERM, leave Ray after the event loop is gone."""
    configure_logging(settings.logging)
    redis_url_of(settings)  # refused before anything connects
    check_bind(settings)
    connect(settings.cluster)
    try:
        return asyncio.run(_run(settings))
    finally:
        disconnect()  # no actor call is in flight any more


async def _run(settings: VigilSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # after ray.init: ours, not Ray's, handle the stop signals
    async with contextlib.AsyncExitStack() as stack:
        await start_cluster(settings, stack)
        await stop.wait()
        log.info("cluster.stopping")
    log.info("cluster.stopped")
    return 0


async def start_cluster(settings: VigilSettings, stack: contextlib.AsyncExitStack) -> int:
    """Coordinator -> HTTP front, once Ray is joined; each stop is pushed on `stack`. Returns the HTTP port."""
    redis_url = redis_url_of(settings)
    coordinator = Coordinator(settings, redis_url)
    await coordinator.start()
    stack.push_async_callback(coordinator.stop)
    port = await _start_front(settings, coordinator, stack)
    _write_runtime_file(settings, port, stack)
    log.info("cluster.running", api_port=port, cameras=len(settings.cameras))
    return port


async def _start_front(settings: VigilSettings, coordinator: Coordinator, stack: contextlib.AsyncExitStack) -> int:
    if not settings.api.enabled:
        return 0
    redis = aioredis.Redis.from_url(redis_url_of(settings), socket_connect_timeout=settings.redis.connect_timeout_s)
    stack.push_async_callback(redis.aclose)
    ctx = ClusterContext(settings, coordinator, redis)
    server = HttpServer(create_front(ctx), settings.api.host, settings.api.port)
    await server.start()
    stack.push_async_callback(server.stop)
    return server.port


def _write_runtime_file(settings: VigilSettings, port: int, stack: contextlib.AsyncExitStack) -> None:
    # `vigil ask` finds the front through this file, as it finds the single-node API.
    path = settings.state_dir / RUNTIME_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    host = settings.api.host
    api_url = f"http://{f'[{host}]' if ':' in host else host}:{port}" if port else None
    path.write_text(json.dumps({"pid": os.getpid(), "redis_url": None, "api_url": api_url, "mode": "cluster"}))
    stack.callback(path.unlink, missing_ok=True)
