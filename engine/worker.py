"""The engine thread: the one owner of the model and of every camera's session, fed by the JobQueue."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
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
from engine.batching import encode_cameras, prefill_cameras
from engine.cache_dirs import camera_of, directory_name
from engine.persist import ChunkFiles
from engine.protocols import StreamModel
from engine.question_lanes import Selection, yes_no_jobs
from engine.questions import answer_text, yes_no
from engine.records import ChunkRecord, EncodedGroup
from engine.scheduler import AppendRound, GroupBatch, JobQueue
from engine.session import StreamSession
from engine.startup import session_shape
from engine.steps import Steps
from engine.tier import DenseTier
from engine.views import QuestionView

log = structlog.get_logger(__name__)


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

    def write(self, record: ChunkRecord, epoch: float, sealed: bool = True, groups_encoded: int = 0) -> None:
        self.files.write(record, epoch, sealed, groups_encoded)

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
        self._shape = session_shape(settings)
        self._planner = ViewPlanner(model, settings.top_k, settings.cached_views)
        self._sessions: dict[str, StreamSession] = {}
        self._tiers: dict[str, DenseTier] = {}
        self._stats: dict[str, SessionStats] = {}
        self._in_round = False  # an append round is using its cameras' sessions: releases wait in _held
        self._held: list[ReleaseJob] = []
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
    def thread_id(self) -> int:
        """The engine thread's id once started (for its CPU clock: `time.pthread_getcpuclockid`)."""
        if self._thread.ident is None:
            raise EngineError("the engine thread is not started")
        return self._thread.ident

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        settings = self.settings
        try:
            with torch.inference_mode():
                self._restore_all()
                answered = False  # after a batch of questions, waiting groups go next: appends never starve
                while (job := self._queue.take_round(
                    settings.chunk_groups, settings.batch_cameras, settings.batch_questions, appends_first=answered
                )) is not None:
                    self.handle(job)
                    answered = not isinstance(job, AppendRound)
                self._checkpoint_all()
        except Exception:  # logged here, where the thread ends; the finally answers whoever still waits
            log.exception("engine.thread_died", action="questions are refused from now on; restart the service")
        finally:
            # Nobody will take these any more: answer each waiting question with the reason, never leave it hanging.
            for job in self._queue.abandon():
                _refuse(job, EngineError("the engine thread stopped before answering; the service log says why"))
            log.info("engine.thread_stopped", cameras=len(self._sessions))

    def handle(self, job: AppendRound | list[AskJob | ReleaseJob]) -> None:
        """Run one job of `JobQueue.take_round` on the calling thread: the engine thread's loop, or a benchmark or
        test that never started the thread (never both: the worker's sessions have one owner)."""
        if isinstance(job, AppendRound):
            self._round(job)
        else:
            self._answer_all(job)

    def _round(self, job: AppendRound) -> None:
        """One append round, answering the questions that arrive between its steps (questions never wait for a
        whole round, only for the step in progress)."""
        before = {b.camera_id: self._session(b.camera_id).groups_encoded for b in job.batches}
        steps = self._append_round(job)
        self._in_round = True
        try:
            while True:
                next(steps)
                if self._queue.questions_waiting():
                    self._answer_all(self._queue.take_questions(self.settings.batch_questions))
        except StopIteration:
            return
        except Exception:  # one failed round must never stop the engine thread; its unprefilled groups are lost
            log.exception("engine.round_failed", cameras=[b.camera_id for b in job.batches])
            for batch in job.batches:
                done = self._sessions[batch.camera_id].groups_encoded - before[batch.camera_id]
                if done < len(batch.groups):
                    self._queue.count_drop(batch.camera_id, "error", len(batch.groups) - done)
                self._publish(self._sessions[batch.camera_id])
        finally:
            self._in_round = False
            held, self._held = self._held, []
            for release in held:
                self._release(release)

    def _append_round(self, job: AppendRound) -> Steps[None]:
        """Encode every camera's groups in shared vision passes, then prefill them in shared forwards."""
        ready = []
        for batch in job.batches:
            pixels = self._pixels(batch)
            if pixels is not None:
                ready.append((batch, pixels))
            yield  # decoding and resizing a camera's frames: a step of its own
        if not ready:
            return
        started = time.perf_counter()
        vis = yield from encode_cameras(self.model, [p for _, p in ready], self.settings.encode_pass_groups)
        encoded = time.perf_counter()
        work = [
            (self._session(b.camera_id), [EncodedGroup(g.t_first, g.t_last, v[i]) for i, g in enumerate(b.groups)])
            for (b, _), v in zip(ready, vis, strict=True)
        ]
        yield from prefill_cameras(self.model, work, self.settings.batch_tokens)
        for batch, _ in ready:  # the round's times, for each camera whose groups were in it
            metrics.ENCODE_SECONDS.labels(batch.camera_id).observe(encoded - started)
            metrics.PREFILL_SECONDS.labels(batch.camera_id).observe(time.perf_counter() - encoded)
            self._publish(self._sessions[batch.camera_id])  # its cached view stays, extended by its next question

    def _pixels(self, batch: GroupBatch) -> torch.Tensor | None:
        """The batch's frames as model input [4G, 3, S, S]; None (groups dropped as `error`) when they are unusable."""
        metrics.LAG_SECONDS.labels(batch.camera_id).set(self._queue.lag_s(batch.camera_id))
        try:
            return self.model.preprocess([image for group in batch.groups for image in group.images])
        except Exception:
            log.exception("engine.frames_refused", camera_id=batch.camera_id)
            self._queue.count_drop(batch.camera_id, "error", len(batch.groups))
            return None

    def _restore_all(self) -> None:
        if self._root is None or not self._root.is_dir():
            return
        for directory in sorted(p for p in self._root.iterdir() if p.is_dir()):
            camera_id = camera_of(directory.name)
            if camera_id is None:
                log.warning("engine.restore_skipped", directory=str(directory), reason="not a camera's cache directory")
                continue
            try:
                self._session(camera_id)
            except Exception:
                log.exception("engine.restore_failed", camera_id=camera_id)

    def _session(self, camera_id: str) -> StreamSession:
        session = self._sessions.get(camera_id)
        if session is not None:
            return session
        tier = DenseTier(None, 0)
        sink, restored = None, None
        if self._root is not None:  # any camera id has a directory (cache_dirs), so top-k read-back always works
            directory = self._root / directory_name(camera_id)
            files = ChunkFiles(directory, camera_id, self.model.spec.fingerprint, self._device())
            tier = DenseTier(files, self.settings.top_k)
            sink, restored = _CameraSink(files, tier), files.restore()
        session = StreamSession(camera_id, self.model, self._shape, sink, restored)
        self._sessions[camera_id], self._tiers[camera_id] = session, tier
        self._publish(session)
        return session

    def _device(self) -> torch.device:
        return torch.device(self.model.lm.lm_head.weight.device)

    def _answer_all(self, jobs: list[AskJob | ReleaseJob]) -> None:
        """Answer questions of any cameras: free text one by one, yes/no of every camera in one forward. Releases
        run here too, except within an append round (its cameras' sessions are in use): then after it."""
        asks: list[tuple[AskJob, list[Selection]]] = []
        for job in jobs:
            if isinstance(job, ReleaseJob):
                if self._in_round:
                    self._held.append(job)
                else:
                    self._release(job)
                continue
            if not job.future.set_running_or_notify_cancel():
                continue  # the caller gave up waiting
            if job.kind is AskKind.TEXT:
                self._settle(job, self._answer_text, job)
                continue
            selections = self._settle(job, self._selections, job)
            if isinstance(selections, list):
                asks.append((job, selections))
        if asks:
            self._answer_yes_no(asks)

    def _selections(self, job: AskJob) -> list[Selection]:
        """The views the job's questions are asked on, one per relevance selection, each with the indices of its
        questions: an answer never depends on the other questions of its batch. All are at the session's current
        version, so holding them together until the batched forward is safe (only stale views are extended)."""
        session = self._known(job)
        return self._planner.selections(session, job.questions, job.window_s, self._tiers[job.camera_id])

    def _answer_yes_no(self, asks: list[tuple[AskJob, list[Selection]]]) -> None:
        if len(asks) == 1 and len(asks[0][1]) == 1:  # one view: the per-view path, no padding
            job, [(view, _)] = asks[0]
            self._settle(job, self._alone, job, view)
            return
        try:
            p_yes = yes_no_jobs(self.model, [(job.questions, selections) for job, selections in asks])
        except Exception:  # the batch failed (memory?): each job alone, so one bad view fails only its asker
            log.exception("engine.question_batch_failed", cameras=[job.camera_id for job, _ in asks])
            for job, selections in asks:
                self._settle(job, self._one_job, job, selections)
            return
        for (job, selections), p in zip(asks, p_yes, strict=True):
            self._settle(job, self._yes_no_answer, job, selections[-1][0], p)

    def _alone(self, job: AskJob, view: QuestionView) -> YesNoAnswer:
        return self._yes_no_answer(job, view, yes_no(self.model, view, list(job.questions)))

    def _one_job(self, job: AskJob, selections: list[Selection]) -> YesNoAnswer:
        p_yes = yes_no_jobs(self.model, [(job.questions, selections)])[0]
        return self._yes_no_answer(job, selections[-1][0], p_yes)

    def _settle(self, job: AskJob, work: Callable[..., object], *args: object) -> object:
        """Run `work(*args)` for a job; an answer resolves the job's future, an error fails it (named by camera)."""
        try:
            result = work(*args)
        except Exception as exc:
            error = exc if isinstance(exc, EngineError) else EngineError(f"camera {job.camera_id!r}: {exc}")
            job.future.set_exception(error)
            if not isinstance(exc, EngineError):
                log.exception("engine.question_failed", camera_id=job.camera_id)
            return None
        if isinstance(result, (YesNoAnswer, TextAnswer)):
            job.future.set_result(result)
        return result

    def _known(self, job: AskJob) -> StreamSession:
        session = self._sessions.get(job.camera_id)
        if session is None:
            raise EngineError(f"camera {job.camera_id!r} has sent no frames to the engine; check its ingest status")
        return session

    def _view(self, job: AskJob) -> QuestionView:
        session = self._known(job)
        return self._planner.view(session, job.questions[:1], job.window_s, self._tiers[job.camera_id])

    def _yes_no_answer(self, job: AskJob, view: QuestionView, p_yes: list[float]) -> YesNoAnswer:
        answer = YesNoAnswer(
            job.camera_id, job.questions, tuple(p_yes), view.seen, _ms_since(job.submitted), self.model.identity
        )
        self._answered(job, answer.latency_ms)
        return answer

    def _answer_text(self, job: AskJob) -> TextAnswer:
        view = self._view(job)
        text = answer_text(self.model, view, job.questions[0], job.max_tokens)
        answer = TextAnswer(job.camera_id, job.questions[0], text, view.seen, _ms_since(job.submitted),
                            self.model.identity)
        self._answered(job, answer.latency_ms)
        return answer

    def _answered(self, job: AskJob, latency_ms: float) -> None:
        metrics.QUESTION_SECONDS.labels(job.camera_id, job.kind.value).observe(latency_ms / 1000.0)
        self._publish(self._sessions[job.camera_id])  # the cached view and dense copies count towards its bytes

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
        metrics.GAP_CHUNKS.labels(camera).set(sum(gap.chunks for gap in stats.seen.gaps) if stats.seen else 0)

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
