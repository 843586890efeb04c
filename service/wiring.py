"""Which part is started after which, and how data crosses between them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
import structlog

from ingest.status import CameraStatus
from service.context import ServiceContext

if TYPE_CHECKING:
    from alerts.publisher import AlertPublisher
    from alerts.runner import RuleRunner
    from engine.client import EngineClient
    from ingest.manager import IngestManager
    from service.app import Service

log = structlog.get_logger(__name__)
FEED_PERIOD_S = 0.2


async def start_parts(service: Service, stack: contextlib.AsyncExitStack) -> int:
    """footage -> engine -> publisher -> ingest -> feeders -> rules -> HTTP. Returns the HTTP port."""
    from alerts.publisher import AlertPublisher
    from alerts.runner import RuleRunner
    from ingest.footage import FootageStore
    from ingest.manager import IngestManager

    settings, state = service.settings, service.state_dir
    await _warn_if_redis_away(service.redis_url, settings.redis.connect_timeout_s)
    footage = FootageStore(state / "footage", settings.storage)
    engine = await _start_engine(service, stack)
    publisher = AlertPublisher(settings.redis, service.redis_url, state / "outbox")
    await publisher.start()
    stack.push_async_callback(publisher.stop)
    statuses: asyncio.Queue[CameraStatus] = asyncio.Queue(maxsize=1000)
    ingest = IngestManager(settings.cameras, footage, on_status=service.status_callback(statuses))
    ingest.start()
    stack.push_async_callback(_stop_ingest, ingest)
    if engine is not None:
        _spawn(stack, [feed_engine(ingest, engine, c.id) for c in settings.cameras if c.enabled])
    rules = RuleRunner(settings, frames=ingest.buffer, engine=engine, publisher=publisher, state_dir=state / "alerts")
    await rules.start()
    stack.push_async_callback(rules.stop)
    _spawn(stack, [pump_statuses(statuses, rules, publisher)])
    redis = aioredis.Redis.from_url(service.redis_url, socket_connect_timeout=settings.redis.connect_timeout_s)
    stack.push_async_callback(redis.aclose)
    ctx = ServiceContext(settings, ingest, footage, engine, rules, redis,
                         alerts_deliverable=lambda: publisher.deliverable)
    return await _start_http(ctx, stack, service.http_socket)


async def _start_engine(service: Service, stack: contextlib.AsyncExitStack) -> EngineClient | None:
    settings = service.settings.engine
    if not settings.enabled:
        log.info("engine.disabled", reason="engine.enabled is false; question rules are skipped")
        return None
    from engine.client import EngineClient

    if settings.model == "tiny":
        log.warning("engine.tiny_model", note="the tiny model is untrained: question rules show the mechanics "
                    "only; the demo's alerts come from the motion and presence rules")
    engine = EngineClient(settings, service.state_dir / "engine")
    await asyncio.to_thread(engine.start)
    stack.push_async_callback(asyncio.to_thread, engine.stop)
    return engine


async def _start_http(ctx: ServiceContext, stack: contextlib.AsyncExitStack, sock: socket.socket | None) -> int:
    if not ctx.settings.api.enabled:
        return 0
    from service.api import create_app
    from service.http import HttpServer

    server = HttpServer(create_app(ctx), ctx.settings.api.host, ctx.settings.api.port, sock=sock)
    await server.start()
    stack.push_async_callback(server.stop)
    return server.port


async def _stop_ingest(ingest: IngestManager) -> None:
    result = ingest.stop()
    if asyncio.iscoroutine(result):
        await result


def _spawn(stack: contextlib.AsyncExitStack, coros: list[Coroutine[Any, Any, None]]) -> None:
    for coro in coros:
        task = asyncio.create_task(coro)
        stack.push_async_callback(_cancel, task)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def feed_engine(ingest: IngestManager, engine: EngineClient, camera_id: str) -> None:
    """Hand each camera's new sampled frames to the engine; the engine samples and drops by its own policy."""
    buffer = ingest.buffer(camera_id)
    next_seq = 0
    while True:
        for frame in buffer.since(next_seq):
            engine.submit(frame)
            next_seq = frame.seq + 1
        await asyncio.sleep(FEED_PERIOD_S)


async def pump_statuses(
    statuses: asyncio.Queue[CameraStatus], rules: RuleRunner, publisher: AlertPublisher
) -> None:
    while True:
        status = await statuses.get()
        try:
            rules.on_camera_status(status)
            await publisher.publish_status(status)
        except Exception:  # a status that cannot be published must not stop the next one
            log.exception("status.publish_failed", camera_id=status.camera_id)


async def _warn_if_redis_away(url: str, timeout_s: float) -> None:
    from config.loader import redact_url
    from service.app import ping_redis

    reason = await ping_redis(url, timeout_s)
    if reason is not None:
        log.error("redis.unreachable", url=redact_url(url), reason=reason,
                  action="alerts go to the on-disk outbox and are delivered when Redis returns; retrying")
