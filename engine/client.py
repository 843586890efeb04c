"""EngineClient: the only door into the engine, for the service, the rules and the HTTP handlers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import structlog
import torch

from config.engine import EngineSettings
from engine import metrics
from engine.api import EngineCameraStatus, EngineError, TextAnswer, YesNoAnswer
from engine.intake import Intake
from engine.intake_store import load_pending, save_pending
from engine.protocols import StreamModel
from engine.scheduler import JobQueue
from engine.startup import check_engine
from engine.worker import AskJob, AskKind, EngineWorker, ReleaseJob
from ingest.frame import Frame

log = structlog.get_logger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class EngineClient:
    """Cheap to construct; `start()` loads the model and starts the engine thread, `stop()` persists and joins.

    `submit` is non-blocking and thread-safe; `ask_*` are coroutines resolved by the engine thread."""

    def __init__(self, settings: EngineSettings, state_dir: Path, model: StreamModel | None = None) -> None:
        self.settings = settings
        self._cache_root = state_dir  # the engine's own directory: one sub-directory of chunk files per camera
        self._model = model
        self._intake: Intake | None = None
        self._queue = JobQueue(settings.queue_size, settings.max_lag_s)
        self._worker: EngineWorker | None = None

    def start(self) -> None:
        if self._worker is not None:
            raise EngineError("the engine is already started; EngineClient.start() is called once")
        if not self.settings.enabled:
            log.info("engine.disabled", reason="engine.enabled is false: frames are ignored, questions refused")
            return
        model = self._model or self._load()
        self._model = model
        check_engine(model, self.settings)  # before any frame: positions within the model's range, no idle setting
        # queued frames are resized to the model's input with the reference's filter: bounded memory, exact input
        self._intake = Intake(self.settings.fps, model.spec.image_size)
        if self._persists():
            for camera_id, frames in load_pending(self._cache_root).items():
                self._intake.put_back(camera_id, frames)
        self._worker = EngineWorker(model, self.settings, self._cache_root, self._queue)
        self._worker.start()
        log.info("engine.started", fingerprint=model.spec.fingerprint, persist=self.settings.persist)

    def _load(self) -> StreamModel:
        from engine.model import load_model  # the model package is heavy; import it only when starting

        source = self.settings.model_path or self.settings.model
        dtype = _DTYPES[self.settings.dtype]
        model: StreamModel = load_model(source, device=self.settings.device, dtype=dtype, seed=self.settings.seed)
        return model

    def stop(self) -> None:
        """Refuse new work, let the engine thread finish what waits, write open chunks, join."""
        self._queue.close()
        if self._worker is not None:
            self._worker.join()
        if self._intake is not None and self._persists():  # frames short of a group wait on disk for the next start
            for camera_id, frames in self._intake.take_pending().items():
                save_pending(self._cache_root, camera_id, frames)
        log.info("engine.stopped")

    def _persists(self) -> bool:
        return self.settings.persist

    def submit(self, frame: Frame) -> None:
        """Hand a frame to the engine; never blocks, never raises on overload (drops are counted by policy)."""
        if self._intake is None:
            metrics.FRAMES.labels(frame.camera_id, "not_started").inc()
            return
        group = self._intake.add(frame)
        if group is not None:
            self._queue.put_group(group)
            metrics.QUEUE_DEPTH.labels(frame.camera_id).set(self._queue.depth(frame.camera_id))

    async def drained(self, camera_id: str, poll_s: float = 0.005) -> None:
        """Wait until the engine thread has taken every group handed over for the camera (`vigil replay` asks
        only after the video before the question is in the cache)."""
        while self._worker is not None and self._queue.depth(camera_id) > 0:
            await asyncio.sleep(poll_s)

    async def ask_yes_no(
        self, camera_id: str, questions: Sequence[str], window_s: float | None = None
    ) -> YesNoAnswer:
        """P(yes) for each question, all on one shared view of the camera's cache."""
        if not questions:
            raise EngineError(f"camera {camera_id!r}: ask_yes_no needs at least one question")
        answer = await self._ask(AskKind.YES_NO, camera_id, tuple(questions), window_s, 1)
        assert isinstance(answer, YesNoAnswer)
        return answer

    async def ask_text(
        self, camera_id: str, question: str, max_tokens: int = 64, window_s: float | None = None
    ) -> TextAnswer:
        """A free-form answer, greedy, at most min(max_tokens, engine.max_new_tokens) tokens."""
        tokens = max(1, min(max_tokens, self.settings.max_new_tokens))
        answer = await self._ask(AskKind.TEXT, camera_id, (question,), window_s, tokens)
        assert isinstance(answer, TextAnswer)
        return answer

    async def _ask(
        self, kind: AskKind, camera_id: str, questions: tuple[str, ...], window_s: float | None, max_tokens: int
    ) -> YesNoAnswer | TextAnswer:
        if not self.settings.enabled:
            raise EngineError(f"camera {camera_id!r}: the engine is disabled (engine.enabled: false in the config)")
        if self._worker is None:
            raise EngineError("the engine is not started; call EngineClient.start() first")
        future: Future[YesNoAnswer | TextAnswer] = Future()
        job = AskJob(camera_id, kind, questions, window_s, max_tokens, future, time.perf_counter())
        self._queue.put_question(job)
        metrics.QUESTIONS_WAITING.set(self._queue.questions_waiting())
        return await asyncio.wrap_future(future)

    async def release(self, camera_id: str) -> None:
        """Forget a camera that moved to another machine (cluster mode): frames and groups still waiting for it
        are dropped, its open chunk is written to its cache directory and its session leaves memory. A later
        frame for it starts again from the files on disk. Call after its frames stopped coming."""
        if self._intake is not None:
            self._intake.discard(camera_id)
        self._queue.discard(camera_id)
        if self._worker is None or not self._worker.alive:
            return
        future: Future[None] = Future()
        self._queue.put_question(ReleaseJob(camera_id, future))
        await asyncio.wrap_future(future)

    def status(self, camera_id: str) -> EngineCameraStatus | None:
        stats = self._worker.stats(camera_id) if self._worker else None
        frames_in = self._intake.counts(camera_id)[0] if self._intake else 0
        if stats is None and frames_in == 0:
            return None
        lag = self._queue.lag_s(camera_id)
        metrics.LAG_SECONDS.labels(camera_id).set(lag)
        return EngineCameraStatus(
            camera_id=camera_id,
            frames_in=frames_in,
            groups_encoded=stats.groups_encoded if stats else 0,
            groups_dropped=self._queue.dropped_for(camera_id),
            chunks=stats.chunks if stats else 0,
            kv_tokens=stats.kv_tokens if stats else 0,
            kv_bytes=stats.kv_bytes if stats else 0,
            lag_s=lag,
            seen=stats.seen if stats else None,
        )

    def cameras(self) -> list[str]:
        known = set(self._worker.cameras() if self._worker else ())
        return sorted(known | set(self._intake.cameras() if self._intake else ()))

