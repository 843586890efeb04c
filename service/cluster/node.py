"""VigilNode: the Ray actor, one per Ray node that carries the node resource, wrapping that node's NodeShard.

Plain class; the coordinator turns it into a Ray actor (`ray.remote(VigilNode)`) pinned to its node. Async
methods all run on the actor's one event loop, so the shard has a single owner.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.settings import VigilSettings
from service.api.schemas import AskRequest, AskResponse
from service.cluster.reports import NodeReport, Refusal
from service.cluster.shard import NodeShard
from service.logging import configure_logging


class VigilNode:
    def __init__(self, settings: VigilSettings, node: str, redis_url: str) -> None:
        configure_logging(settings.logging)
        self._shard = NodeShard(settings, node, redis_url)

    async def start(self) -> str:
        """Load the model and start the engine; returns the node id once ready for cameras."""
        await self._shard.start()
        return self._shard.node

    async def assign(self, cameras: list[str], adopt: Mapping[str, str]) -> list[str]:
        return await self._shard.assign(cameras, adopt)

    async def report(self) -> NodeReport:
        return self._shard.report()

    async def scores(self, camera_id: str) -> dict[str, list[tuple[float, float]]] | Refusal:
        return self._shard.scores(camera_id)

    async def ask(self, camera_id: str, body: AskRequest) -> AskResponse | Refusal:
        return await self._shard.ask(camera_id, body)

    async def snapshot(self, camera_id: str, t: float | None) -> bytes | Refusal:
        return await self._shard.snapshot(camera_id, t)

    async def clip(self, camera_id: str, start: float, end: float) -> bytes | Refusal:
        return await self._shard.clip(camera_id, start, end)

    async def stop(self) -> None:
        await self._shard.stop()
