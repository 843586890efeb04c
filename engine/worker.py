"""The engine thread: the one owner of the model and of every camera's session, fed by the JobQueue."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import structlog
import torch

from config.engine import EngineSettings
from engine import metrics
from engine.api import EngineError, TextAnswer, TimeRange, YesNoAnswer
from engine.asking import ViewPlanner
from engine.persist import ChunkFiles
from engine.protocols import StreamModel
from engine.questions import answer_text, yes_no
from engine.records import ChunkRecord, EncodedGroup
from engine.scheduler import GroupBatch, JobQueue
from engine.session import SessionShape, StreamSession
from engine.tier import DenseTier

log = structlog.get_logger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # camera ids become directory names


class AskKind(Enum):
    YES_NO = "yes_no"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class AskJob:
    camera_id: str
    kind: AskKind
    questions: tuple[str, ...]
    window_s: float | None
    max_tokens: int
    future: Future[YesNoAnswer | TextAnswer]
    submitted: float  # time.perf_counter() at submit: latency includes the wait in the queue


@dataclass(frozen=True, slots=True)
class ReleaseJob:
    """Write the camera's open chunk and drop its session from memory (cluster mode: the camera moved away)."""

    camera_id: str
    future: Future[None]


@dataclass(frozen=True, slots=True)
class SessionStats:
    """A snapshot the engine thread publishes after every job of a camera; readers never touch the session."""

    groups_encoded: int
    chunks: int
    kv_tokens: int
    kv_bytes: int
    seen: TimeRange | None


class _CameraSink:
    """Chunk files plus the dense tier in front of them: an expired chunk leaves both."""

    def __init__(self, files: ChunkFiles, tier: DenseTier) -> None:
        self.files, self.tier = files, tier

    def write(self, record: ChunkRecord, epoch: float, sealed: bool = True) -> None:
        self.files.write(record, epoch, sealed)

    def delete(self, seq: int) -> None:
        self.files.delete(seq)
        self.tier.forget({seq})


class EngineWorker:
    def __init__(
        self, model: StreamModel, settings: EngineSettings, cache_root: Path | None, queue: JobQueue
    ) -> None:
        self.model = model
        self.settings = settings
        self._root = cache_root if settings.persist else None
        self._queue = queue
        self._shape = SessionShape(
            settings.chunk_groups, settings.window_chunks, settings.dense_chunks, settings.retention_s, settings.fps
        )
        self._planner = ViewPlanner(model, settings.top_k)
        self._sessions: dict[str, StreamSession] = {}
        self._tiers: dict[str, DenseTier] = {}
        self._stats: dict[str, SessionStats] = {}
        self._thread = threading.Thread(target=self._run, name="vigil-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def stats(self, camera_id: str) -> SessionStats | None:
        return self._stats.get(camera_id)

    def cameras(self) -> list[str]:
        return sorted(self._stats)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                self._restore_all()
                while (job := self._queue.take(self.settings.chunk_groups)) is not None:
                    self._handle(job)
                self._checkpoint_all()
        except Exception:  # logged here, where the thread ends; the finally answers whoever still waits
            log.exception("engine.thread_died", action="questions are refused from now on; restart the service")
        finally:
            # Nobody will take these any more: answer each waiting question with the reason, never leave it hanging.
            for job in self._queue.abandon():
                _refuse(job, EngineError("the engine thread stopped before answering; the service log says why"))
            log.info("engine.thread_stopped", cameras=len(self._sessions))

    def _handle(self, job: object) -> None:
        try:
            if isinstance(job, GroupBatch):
                metrics.LAG_SECONDS.labels(job.camera_id).set(self._queue.lag_s(job.camera_id))
                self._append(job)
            elif isinstance(job, AskJob):
                self._ask(job)
            elif isinstance(job, ReleaseJob):
                self._release(job)
        except Exception:  # one failed job must never stop the engine thread
            camera = getattr(job, "camera_id", None)
            log.exception("engine.job_failed", camera_id=camera, job=type(job).__name__)
            if isinstance(job, GroupBatch):
                self._queue.count_drop(job.camera_id, "error", len(job.groups))

    def _restore_all(self) -> None:
        if self._root is None or not self._root.is_dir():
            return
        for directory in sorted(p for p in self._root.iterdir() if p.is_dir()):
            try:
                self._session(directory.name)
            except Exception:
                log.exception("engine.restore_failed", camera_id=directory.name)

    def _session(self, camera_id: str) -> StreamSession:
        session = self._sessions.get(camera_id)
        if session is not None:
            return session
        tier = DenseTier(None, 0)
        sink, restored = None, None
        if self._root is not None and not _SAFE_ID.match(camera_id):
            log.warning("engine.cache_not_persisted", camera_id=camera_id, reason="id is not a safe directory name")
        elif self._root is not None:
            files = ChunkFiles(self._root / camera_id, camera_id, self.model.spec.fingerprint, self._device())
            tier = DenseTier(files, self.settings.top_k)
            sink, restored = _CameraSink(files, tier), files.restore()
        session = StreamSession(camera_id, self.model, self._shape, sink, restored)
        self._sessions[camera_id], self._tiers[camera_id] = session, tier
        self._publish(session)
        return session

    def _device(self) -> torch.device:
        return torch.device(self.model.lm.lm_head.weight.device)

    def _append(self, batch: GroupBatch) -> None:
        session = self._session(batch.camera_id)
        started = time.perf_counter()
        images = [image for group in batch.groups for image in group.images]
        vis = self.model.encode_groups(self.model.preprocess(images))  # [G, V, D]
        encoded = [EncodedGroup(g.t_first, g.t_last, vis[i]) for i, g in enumerate(batch.groups)]
        metrics.ENCODE_SECONDS.labels(batch.camera_id).observe(time.perf_counter() - started)
        started = time.perf_counter()
        session.append(encoded)
        metrics.PREFILL_SECONDS.labels(batch.camera_id).observe(time.perf_counter() - started)
        self._planner.forget(batch.camera_id)
        self._publish(session)

    def _ask(self, job: AskJob) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # the caller gave up waiting
        try:
            job.future.set_result(self._answer(job))
        except Exception as exc:
            error = exc if isinstance(exc, EngineError) else EngineError(f"camera {job.camera_id!r}: {exc}")
            job.future.set_exception(error)
            if not isinstance(exc, EngineError):
                log.exception("engine.question_failed", camera_id=job.camera_id)

    def _answer(self, job: AskJob) -> YesNoAnswer | TextAnswer:
        session = self._sessions.get(job.camera_id)
        if session is None:
            raise EngineError(f"camera {job.camera_id!r} has sent no frames to the engine; check its ingest status")
        view = self._planner.view(session, job.questions, job.window_s, self._tiers[job.camera_id])
        if job.kind is AskKind.YES_NO:
            p = yes_no(self.model, view, job.questions)
            answer: YesNoAnswer | TextAnswer = YesNoAnswer(
                job.camera_id, job.questions, tuple(p), view.seen, _ms_since(job.submitted)
            )
        else:
            text = answer_text(self.model, view, job.questions[0], job.max_tokens)
            answer = TextAnswer(job.camera_id, job.questions[0], text, view.seen, _ms_since(job.submitted))
        metrics.QUESTION_SECONDS.labels(job.camera_id, job.kind.value).observe(answer.latency_ms / 1000.0)
        self._publish(session)  # the cached view and dense copies count towards the camera's bytes
        return answer

    def _release(self, job: ReleaseJob) -> None:
        session = self._sessions.pop(job.camera_id, None)
        self._tiers.pop(job.camera_id, None)
        self._stats.pop(job.camera_id, None)
        self._planner.forget(job.camera_id)
        try:
            if session is not None:
                session.checkpoint()  # the next owner (or this one, later) restores from the chunk files
        finally:
            with contextlib.suppress(InvalidStateError):
                job.future.set_result(None)
        log.info("engine.camera_released", camera_id=job.camera_id, had_session=session is not None)

    def _publish(self, session: StreamSession) -> None:
        tokens = session.tokens()
        camera = session.camera_id
        nbytes = session.nbytes() + self._tiers[camera].nbytes() + self._planner.view_bytes(camera)
        stats = SessionStats(session.groups_encoded, len(session.store), tokens, nbytes, session.seen())
        self._stats[session.camera_id] = stats
        metrics.KV_TOKENS.labels(session.camera_id).set(tokens)
        metrics.KV_BYTES.labels(session.camera_id).set(nbytes)

    def _checkpoint_all(self) -> None:
        for session in self._sessions.values():
            try:
                session.checkpoint()
            except Exception:
                log.exception("engine.checkpoint_failed", camera_id=session.camera_id)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _refuse(job: AskJob, error: EngineError) -> None:
    with contextlib.suppress(InvalidStateError):  # the asker gave up (cancelled) meanwhile
        job.future.set_exception(error)
