"""NodeShard: the single-node service for one node's shard of cameras, changed camera by camera.

One engine per node (one model per accelerator) serves every camera of the shard; each camera has its own
CameraUnit. `assign` is idempotent: it starts the cameras that are new, stops the ones that left, and retries
a camera that failed to start. A camera adopted from a dead node brings its KV cache along when the state
directory is shared (cluster.shared_state): its chunk directory moves into this node's engine directory
before the camera's first frame.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from config.errors import VigilError
from config.settings import VigilSettings
from engine.api import EngineError, TextAnswer, YesNoAnswer
from service.api.errors import service_status
from service.api.health import model_note
from service.api.schemas import AskRequest, AskResponse, TimeRangeView
from service.cluster.camera_unit import CameraUnit
from service.cluster.reports import NodeReport, Refusal

if TYPE_CHECKING:
    from engine.client import EngineClient

log = structlog.get_logger(__name__)


def engine_dir(state_dir: Path, node: str) -> Path:
    return state_dir / "nodes" / node / "engine"


class NodeShard:
    """Owned by the node actor; every method runs on the actor's event loop."""

    def __init__(self, settings: VigilSettings, node: str, redis_url: str) -> None:
        self.settings = settings
        self.node = node
        self._redis_url = redis_url
        self._engine: EngineClient | None = None
        self._units: dict[str, CameraUnit] = {}
        self._adopt: dict[str, str] = {}  # camera -> previous owner, until the camera runs here
        self._lock = asyncio.Lock()  # one assignment at a time
        self._log = log.bind(node=node)

    async def start(self) -> None:
        if not self.settings.engine.enabled:
            return
        from engine.client import EngineClient

        engine = EngineClient(self.settings.engine, engine_dir(self.settings.state_dir, self.node))
        await asyncio.to_thread(engine.start)
        self._engine = engine
        self._log.info("cluster.node_started")

    async def stop(self) -> None:
        async with self._lock:
            await self._stop_units(list(self._units))
        if self._engine is not None:
            await asyncio.to_thread(self._engine.stop)
            self._engine = None
        self._log.info("cluster.node_stopped")

    async def assign(self, cameras: list[str], adopt: Mapping[str, str]) -> list[str]:
        """Run exactly `cameras`; `adopt` names a moved camera's previous owner (dead, or done with it).
        Returns the cameras running."""
        async with self._lock:
            await self._stop_units([c for c in self._units if c not in cameras])
            self._adopt = {c: o for c, o in {**self._adopt, **adopt}.items() if c in cameras}  # kept for retries
            for camera_id in cameras:
                if camera_id not in self._units:
                    await self._start_unit(camera_id, self._adopt.get(camera_id))
            return sorted(self._units)

    async def _start_unit(self, camera_id: str, previous_owner: str | None) -> None:
        if previous_owner is not None and previous_owner != self.node and self.settings.cluster.shared_state:
            try:
                await asyncio.to_thread(self._adopt_cache, camera_id, previous_owner)
            except OSError as exc:  # the camera still starts; its cache re-warms from new video
                self._log.warning("cluster.cache_not_adopted", camera_id=camera_id, from_node=previous_owner,
                                  error=str(exc), action="check that state_dir is one shared, writable volume")
        unit = CameraUnit(self.settings, camera_id, self._engine, self._redis_url)
        try:
            await unit.start()
        except Exception:  # retried at the next assignment; the shard's other cameras carry on
            self._log.exception("cluster.camera_start_failed", camera_id=camera_id)
            return
        self._units[camera_id] = unit
        self._adopt.pop(camera_id, None)

    def _adopt_cache(self, camera_id: str, previous_owner: str) -> None:
        """Move the camera's chunk files into this engine's directory before its first frame. A copy already
        here is older (this engine released the camera when it left) and is replaced."""
        source = engine_dir(self.settings.state_dir, previous_owner) / camera_id
        target = engine_dir(self.settings.state_dir, self.node) / camera_id
        if not source.is_dir():
            return
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        self._log.info("cluster.cache_adopted", camera_id=camera_id, from_node=previous_owner)

    async def _stop_units(self, camera_ids: list[str]) -> None:
        for camera_id in camera_ids:
            unit = self._units.pop(camera_id)
            try:
                await unit.stop()
            except Exception:  # one camera's failed stop must not keep the others running
                self._log.exception("cluster.camera_stop_failed", camera_id=camera_id)

    def report(self) -> NodeReport:
        views = []
        for unit in self._units.values():
            try:
                views.append(unit.view())
            except (VigilError, LookupError):  # still starting, or its status failed: shown as placed only
                continue
        return NodeReport(self.node, tuple(views))

    def scores(self, camera_id: str) -> dict[str, list[tuple[float, float]]] | Refusal:
        unit = self._units.get(camera_id)
        return _moving(camera_id) if unit is None else unit.scores()

    # ---- requests routed here by the front ---------------------------------------------------------------

    async def ask(self, camera_id: str, body: AskRequest) -> AskResponse | Refusal:
        if camera_id not in self._units:
            return _moving(camera_id)
        if self._engine is None:
            return Refusal(503, "the engine is disabled (engine.enabled is false): questions cannot be answered")
        try:
            answer = await self._ask_engine(self._engine, camera_id, body)
        except EngineError as exc:
            return Refusal(409, str(exc))
        return self._response(camera_id, body, answer)

    async def _ask_engine(self, engine: EngineClient, camera_id: str, body: AskRequest) -> YesNoAnswer | TextAnswer:
        question = body.question.strip()
        if body.mode == "yes_no":
            return await engine.ask_yes_no(camera_id, [question], window_s=body.window_s)
        tokens = body.max_tokens or self.settings.engine.max_new_tokens
        return await engine.ask_text(camera_id, question, max_tokens=tokens, window_s=body.window_s)

    def _response(self, camera_id: str, body: AskRequest, answer: YesNoAnswer | TextAnswer) -> AskResponse:
        model = self.settings.engine.model
        return AskResponse(
            camera_id=camera_id, mode=body.mode, question=body.question.strip(),
            p_yes=answer.p_yes[0] if isinstance(answer, YesNoAnswer) else None,
            text=answer.text if isinstance(answer, TextAnswer) else None,
            seen=TimeRangeView(start=answer.seen.start, end=answer.seen.end),
            latency_ms=round(answer.latency_ms, 1), model=model, model_note=model_note(model),
        )

    async def snapshot(self, camera_id: str, t: float | None) -> bytes | Refusal:
        unit = self._units.get(camera_id)
        if unit is None:
            return _moving(camera_id)
        return await _read_footage(lambda: unit.footage.snapshot(camera_id, t))

    async def clip(self, camera_id: str, start: float, end: float) -> bytes | Refusal:
        unit = self._units.get(camera_id)
        if unit is None:
            return _moving(camera_id)
        return await _read_footage(lambda: unit.footage.export_clip(camera_id, start, end))


def _moving(camera_id: str) -> Refusal:
    return Refusal(409, f"camera {camera_id!r} is not running on this node (it is moving); try again in a few seconds")


async def _read_footage(read: Callable[[], bytes]) -> bytes | Refusal:
    try:
        return await asyncio.to_thread(read)  # blocking file I/O and encoding
    except VigilError as exc:
        return Refusal(service_status(exc), str(exc))
