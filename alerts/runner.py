"""RuleRunner: evaluates every enabled rule on its cameras on the rule's schedule and publishes alert events.

One asyncio task per schedule (camera, every_s) owns the slots (rule x camera) of that schedule: their state,
detectors and score history. The question rules of a schedule go to the engine as one batched call per tick.
A rule whose evaluation raises is logged, counted and tried again next tick; the others carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from alerts.build import build_event, explain_prompt, people_wire
from alerts.clock import SystemClock
from alerts.errors import AlertsError, PublishError
from alerts.event import AlertEvent, EventType
from alerts.metrics import RULE_ACTIVE, RULE_EVALUATIONS, RULE_SCORE, STARTS_SUPPRESSED
from alerts.ports import Clock, EventSink, FrameFeed, QuestionEngine, RuleStore
from alerts.scoring import ConveyorScorer, FrameScorer, PresenceScorer, frame_scorer, offline_score
from alerts.state import Phase, RuleState, Timing, Transition, annotate, step
from alerts.store import RuleStateStore, Saved
from config.rules import QuestionCondition, RuleSettings
from config.settings import VigilSettings
from engine.api import EngineError, ModelIdentity
from ingest.status import CameraStatus

log = structlog.get_logger(__name__)
HISTORY = 600  # score samples kept per rule and camera for the console chart
EXPLAIN_TOKENS = 48
EXPLAIN_TIMEOUT_S = 60.0
MEMORY_SAVE_S = 60.0  # a detector's changed memory (a belt's normal speed) is saved at most this often


@dataclass(eq=False)
class Slot:
    """One rule on one camera. Mutated only by the task of its schedule."""

    rule: RuleSettings
    camera_id: str
    scorer: FrameScorer | None
    state: RuleState = field(default_factory=RuleState)
    unsent: AlertEvent | None = None
    explaining: asyncio.Task[str | None] | None = None
    history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    model: ModelIdentity | None = None  # the model of the last answer (question rules): it labels the events
    memory_saved: tuple[float, dict[str, Any] | None] = (-1e18, None)  # (when, what) the detector memory was saved

    def memory(self) -> dict[str, Any] | None:
        return self.scorer.memory() if isinstance(self.scorer, ConveyorScorer) else None

    def figures(self) -> dict[str, float] | None:
        return self.scorer.figures() if isinstance(self.scorer, ConveyorScorer) else None

    @property
    def key(self) -> str:
        return f"{self.camera_id}:{self.rule.id}"

    @property
    def question(self) -> str | None:
        c = self.rule.condition
        return c.text if isinstance(c, QuestionCondition) else None


class RuleRunner:
    """Constructed cheaply; start() restores state and starts the schedules; stop() cancels and saves."""

    def __init__(self, settings: VigilSettings, frames: Callable[[str], FrameFeed | None],
                 engine: QuestionEngine | None, publisher: EventSink, state_dir: Path,
                 clock: Clock | None = None, store: RuleStore | None = None) -> None:
        self._settings = settings
        self._frames = frames
        self._engine = engine
        self._publisher = publisher
        self._store: RuleStore = store or RuleStateStore(state_dir)  # cluster mode passes a Redis-backed one
        self._clock: Clock = clock or SystemClock()
        self._slots = _slots(settings)
        self._statuses: dict[str, CameraStatus] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._saving = asyncio.Lock()  # schedules save concurrently; the file is written by one at a time

    async def start(self) -> None:
        await self._restore()
        groups: dict[tuple[str, float], list[Slot]] = defaultdict(list)
        for slot in self._slots:
            groups[(slot.camera_id, slot.rule.every_s)].append(slot)
        for (camera_id, every_s), slots in groups.items():
            name = f"rules-{camera_id}-{every_s:g}s"
            self._tasks.append(asyncio.create_task(self._schedule(slots, every_s), name=name))
        log.info("rules.started", slots=len(self._slots), schedules=len(self._tasks))

    async def stop(self) -> None:
        tasks = self._tasks + [s.explaining for s in self._slots if s.explaining is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._save()

    def on_camera_status(self, status: CameraStatus) -> None:
        """Called from the event loop on every camera state change; camera_offline rules read it."""
        self._statuses[status.camera_id] = status

    def scores(self, camera_id: str) -> dict[str, list[tuple[float, float]]]:
        """Recent (t, score) per rule id, oldest first, for the console chart."""
        return {s.rule.id: list(s.history) for s in self._slots if s.camera_id == camera_id}

    @property
    def schedules(self) -> int:
        return len(self._tasks)

    # ---- the schedule -------------------------------------------------------------------------------------

    async def _schedule(self, slots: list[Slot], every_s: float) -> None:
        due = self._clock.now()
        while True:
            try:
                await self._tick(slots)
            except Exception:  # the loop must outlive any one bad tick
                log.exception("rules.tick_failed", camera_id=slots[0].camera_id, rule_ids=[s.rule.id for s in slots])
            # Missed ticks are skipped, not bunched: a slow engine must not cause a burst of evaluations.
            due = max(due + every_s, self._clock.now())
            await self._clock.sleep(due - self._clock.now())

    async def _tick(self, slots: list[Slot]) -> None:
        now = self._clock.now()
        scores = await self._questions(slots)
        for slot in slots:
            if slot.question is None:
                scores[slot] = await self._score(slot, now)
        for slot in slots:
            try:
                await self._advance(slot, scores.get(slot), now)
            except Exception:  # e.g. the state file cannot be written: the other rules still advance
                log.exception("rule.advance_failed", camera_id=slot.camera_id, rule_id=slot.rule.id)

    async def _score(self, slot: Slot, now: float) -> float | None:
        try:
            if slot.scorer is None:
                return offline_score(self._statuses, slot.camera_id)
            feed = self._feed(slot.camera_id)
            return None if feed is None else await slot.scorer.score(feed, now)
        except Exception:  # reported, and the rule is evaluated again next tick
            RULE_EVALUATIONS.labels(slot.camera_id, slot.rule.id, "error").inc()
            log.exception("rule.evaluation_failed", camera_id=slot.camera_id, rule_id=slot.rule.id)
            return None

    async def _questions(self, slots: list[Slot]) -> dict[Slot, float | None]:
        """All question rules of one schedule in one engine call; no score when the engine cannot answer."""
        asked = [s for s in slots if s.question is not None]
        if not asked or self._engine is None:
            return {}
        camera_id = asked[0].camera_id
        try:
            answer = await self._engine.ask_yes_no(camera_id, [s.question or "" for s in asked])
        except EngineError as exc:
            log.info("rule.no_answer", camera_id=camera_id, reason=str(exc))
            return {}
        except Exception:
            for s in asked:
                RULE_EVALUATIONS.labels(camera_id, s.rule.id, "error").inc()
            log.exception("rule.question_failed", camera_id=camera_id, rule_ids=[s.rule.id for s in asked])
            return {}
        for s in asked:
            s.model = answer.model
        return dict(zip(asked, answer.p_yes, strict=True))

    def _feed(self, camera_id: str) -> FrameFeed | None:
        try:
            return self._frames(camera_id)
        except LookupError:  # ingest's UnknownCamera: a camera that is not running has no frames
            return None

    # ---- state and events ---------------------------------------------------------------------------------

    async def _advance(self, slot: Slot, score: float | None, now: float) -> None:
        await self._publish(slot)  # an event left unsent (the outbox could not be written) goes first
        self._record(slot, score, now)
        if slot.unsent is not None:  # still not durable: hold the state, so that no later event overtakes it
            return
        slot.state, transition = step(slot.state, score, now, Timing.of(slot.rule), slot.key)
        if transition is not None and transition.type is EventType.SUPPRESSED:
            STARTS_SUPPRESSED.labels(slot.camera_id, slot.rule.id).inc()
        if transition is not None:
            await self._emit(slot, transition)
        if transition is not None and transition.type is EventType.STARTED and slot.rule.explain:
            self._explain(slot)
        await self._collect_explanation(slot, now)
        RULE_ACTIVE.labels(slot.camera_id, slot.rule.id).set(slot.state.phase in (Phase.ACTIVE, Phase.CLEARING))
        await self._save_memory(slot, now)

    async def _save_memory(self, slot: Slot, now: float) -> None:
        """Save when a detector learned something new (at most every MEMORY_SAVE_S), so a crash keeps it."""
        memory = slot.memory()
        when, saved = slot.memory_saved
        if memory is None or memory == saved or (saved is not None and now - when < MEMORY_SAVE_S):
            return
        slot.memory_saved = (now, memory)
        await self._save()

    def _record(self, slot: Slot, score: float | None, now: float) -> None:
        outcome = "no_score" if score is None else "scored"
        RULE_EVALUATIONS.labels(slot.camera_id, slot.rule.id, outcome).inc()
        if score is not None:
            slot.history.append((now, score))
            RULE_SCORE.labels(slot.camera_id, slot.rule.id).set(score)

    async def _emit(self, slot: Slot, transition: Transition) -> None:
        """Record the event before sending it, so a crash in between resends it (deduplicated) on restart."""
        seen = slot.scorer.seen if isinstance(slot.scorer, PresenceScorer) else None
        slot.unsent = build_event(slot.rule, slot.camera_id, transition, slot.model, slot.figures(), people_wire(seen))
        try:
            await self._save()
        finally:  # not saved (disk full): send it anyway, it just would not survive a crash
            await self._publish(slot)

    async def _publish(self, slot: Slot) -> None:
        event = slot.unsent
        if event is None:
            return
        try:
            await self._publisher.publish(event)
        except PublishError as exc:  # the outbox is full: this event is dropped (and counted)
            log.error("alert.lost", camera_id=slot.camera_id, rule_id=slot.rule.id, event_id=event.event_id,
                      error=str(exc))
        except AlertsError as exc:  # e.g. the outbox cannot be written: keep the event, try again next tick
            log.error("alert.unsent", camera_id=slot.camera_id, rule_id=slot.rule.id, event_id=event.event_id,
                      error=str(exc), action="retried every evaluation")
            return
        else:
            log.info("alert.event", camera_id=slot.camera_id, rule_id=slot.rule.id, type=event.type.value,
                     event_id=event.event_id, score=round(event.score, 3))
        slot.unsent = None
        await self._save()

    def _explain(self, slot: Slot) -> None:
        if self._engine is None:
            return
        if slot.explaining is not None:  # the previous occurrence's explanation no longer matters
            slot.explaining.cancel()
        slot.explaining = asyncio.create_task(_ask_text(self._engine, slot), name=f"explain-{slot.key}")

    async def _collect_explanation(self, slot: Slot, now: float) -> None:
        task = slot.explaining
        if task is None or not task.done():
            return
        slot.explaining = None
        text = None if task.cancelled() else task.result()
        if text:
            slot.state, transition = annotate(slot.state, text, now)
            if transition is not None:
                await self._emit(slot, transition)

    async def _save(self) -> None:
        async with self._saving:
            # The snapshot is taken inside the lock, so the file always ends with the newest state.
            saved = {s.key: Saved(s.state, s.unsent, s.memory()) for s in self._slots}
            await asyncio.to_thread(self._store.save, saved)

    async def _restore(self) -> None:
        saved = await asyncio.to_thread(self._store.load)
        for slot in self._slots:
            if (found := saved.pop(slot.key, None)) is not None:
                slot.state, slot.unsent = found.state, found.unsent
                if found.detector and isinstance(slot.scorer, ConveyorScorer):
                    slot.scorer.restore(found.detector)
                    slot.memory_saved = (self._clock.now(), slot.memory())
                if found.state.phase in (Phase.ACTIVE, Phase.CLEARING):
                    log.info("alert.restored", camera_id=slot.camera_id, rule_id=slot.rule.id,
                             id=found.state.occurrence.id if found.state.occurrence else None)
                await self._publish(slot)
        for key, orphan in saved.items():
            if orphan.state.occurrence is not None:
                log.warning("alert.orphaned", key=key, id=orphan.state.occurrence.id,
                            reason="its rule or camera is no longer configured; no ended event will follow")


async def _ask_text(engine: QuestionEngine, slot: Slot) -> str | None:
    try:
        async with asyncio.timeout(EXPLAIN_TIMEOUT_S):
            answer = await engine.ask_text(slot.camera_id, explain_prompt(slot.rule), EXPLAIN_TOKENS)
    except (EngineError, TimeoutError) as exc:
        log.info("alert.no_explanation", camera_id=slot.camera_id, rule_id=slot.rule.id, reason=str(exc))
        return None
    except Exception:  # an explanation is a nicety: its failure never touches the alert
        log.exception("alert.explanation_failed", camera_id=slot.camera_id, rule_id=slot.rule.id)
        return None
    return answer.text.strip().split("\n")[0] or None


def _slots(settings: VigilSettings) -> list[Slot]:
    slots = []
    for camera in settings.cameras:
        if not camera.enabled:
            continue
        for rule in settings.rules_for(camera.id):
            slots.append(Slot(rule, camera.id, frame_scorer(rule, camera.id)))
    return slots
