"""One camera's parts on a node: footage, publisher, ingest worker, engine feeder, rules. start() opens, stop() closes.

Everything the camera writes lives under `<state_dir>/cameras/<camera_id>/` (footage, outbox), so on shared
storage it follows the camera to its next owner; its rule state lives in Redis (service/cluster/rule_state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
import structlog

from alerts.publisher import AlertPublisher
from alerts.runner import RuleRunner
from config.settings import VigilSettings
from engine.api import EngineError
from ingest.footage import FootageStore
from ingest.manager import IngestManager
from ingest.status import CameraStatus
from service.api.camera_views import camera_view
from service.api.schemas import CameraView
from service.cluster.rule_state import RedisRuleStore
from service.context import ServiceContext
from service.status_hop import StatusHop
from service.wiring import feed_engine, pump_statuses

if TYPE_CHECKING:
    from engine.client import EngineClient

log = structlog.get_logger(__name__)


def camera_dir(state_dir: Path, camera_id: str) -> Path:
    return state_dir / "cameras" / camera_id


class CameraUnit:
    """Owned by the node's shard; the constructor is cheap."""

    def __init__(self, settings: VigilSettings, camera_id: str, engine: EngineClient | None, redis_url: str) -> None:
        # This camera alone: `cameras: all` rules and the ingest manager then see only it.
        self.settings = settings.model_copy(update={"cameras": [settings.camera(camera_id)]})
        self.camera_id = camera_id
        self.footage = FootageStore(camera_dir(settings.state_dir, camera_id) / "footage", settings.storage)
        self._engine = engine
        self._redis_url = redis_url
        self._stack = contextlib.AsyncExitStack()
        self._ctx: ServiceContext | None = None  # what the single-node API would see: the views come from it

    async def start(self) -> None:
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise
        log.info("cluster.camera_started", camera_id=self.camera_id)

    async def _start_parts(self) -> None:
        s, root = self.settings, camera_dir(self.settings.state_dir, self.camera_id)
        publisher = AlertPublisher(s.redis, self._redis_url, root / "outbox")
        await publisher.start()
        self._stack.push_async_callback(publisher.stop)
        statuses: asyncio.Queue[CameraStatus] = asyncio.Queue(maxsize=100)
        ingest = IngestManager(s.cameras, self.footage, on_status=StatusHop(asyncio.get_running_loop(), statuses))
        ingest.start()
        self._stack.push_async_callback(ingest.stop)
        if self._engine is not None:
            # pushed before the feeder: on stop the feeder ends first, then the engine lets the camera go
            self._stack.push_async_callback(_release, self._engine, self.camera_id)
            self._spawn(feed_engine(ingest, self._engine, self.camera_id))
        store = RedisRuleStore(self._redis_url, self.camera_id, s.redis.connect_timeout_s)
        self._stack.callback(store.close)
        rules = RuleRunner(s, frames=ingest.buffer, engine=self._engine, publisher=publisher,
                           state_dir=root / "alerts", store=store)
        await rules.start()  # restores the camera's open alerts from Redis
        self._stack.push_async_callback(rules.stop)
        self._spawn(pump_statuses(statuses, rules, publisher))
        client = aioredis.Redis.from_url(self._redis_url)  # connects on first use; the views never use it
        self._stack.push_async_callback(client.aclose)
        self._ctx = ServiceContext(s, ingest, self.footage, self._engine, rules, client,
                                   alerts_deliverable=lambda: publisher.deliverable)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._stack.push_async_callback(_cancel, task)

    async def stop(self) -> None:
        """Rules stop (saving their state) before ingest and the publisher, in reverse order of start."""
        await self._stack.aclose()
        log.info("cluster.camera_stopped", camera_id=self.camera_id)

    def view(self) -> CameraView:
        """What GET /api/cameras/{id} shows on a single machine, built by the single-node API's own code."""
        if self._ctx is None:
            raise LookupError(f"camera {self.camera_id!r} is still starting")
        return camera_view(self._ctx, self.settings.camera(self.camera_id))

    def scores(self) -> dict[str, list[tuple[float, float]]]:
        return self._ctx.rules.scores(self.camera_id) if self._ctx is not None else {}


async def _release(engine: EngineClient, camera_id: str) -> None:
    """The engine writes the camera's open chunk and forgets it, so its next owner continues from the files."""
    try:
        await engine.release(camera_id)
    except EngineError as exc:  # the engine is stopping or dead: its own stop writes what it holds
        log.warning("cluster.release_failed", camera_id=camera_id, reason=str(exc))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
