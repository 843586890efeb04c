"""What the HTTP layer is given by the composition root: the running parts, never their internals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config.settings import VigilSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from alerts.runner import RuleRunner
    from engine.client import EngineClient
    from ingest.footage import FootageStore
    from ingest.manager import IngestManager


@dataclass(frozen=True)
class ServiceContext:
    """The started components. `engine` is None when engine.enabled is false."""

    settings: VigilSettings
    ingest: IngestManager
    footage: FootageStore
    engine: EngineClient | None
    rules: RuleRunner
    redis: Redis
    alerts_deliverable: Callable[[], bool]  # alerts reach Redis, or the on-disk outbox still takes them
