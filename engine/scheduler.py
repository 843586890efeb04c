"""The engine thread's bounded job queue: questions first, then group appends in round-robin across cameras.

A round (`take_round`) is either every waiting question (up to a bound), or the waiting groups of the next
`max_cameras` cameras in turn (up to `max_groups` each), which the engine encodes and prefills together. A camera
taken in a round goes to the back of the turn, so every camera with waiting groups is in one of the next
ceil(cameras / max_cameras) rounds, however busy the others are. Between the steps of an append round the engine
takes the questions that arrived meanwhile (`take_questions`), so a question waits for at most one step.

Drop policies (each counted per camera):
* `queue_full`: a new group arrives while `capacity` groups already wait: the oldest waiting group of the busiest
  camera is dropped (the newest video matters most to a surveillance question, and one busy camera pays first).
* `lag`: a group waited longer than `max_lag_s` before the engine could take it: it is dropped whole, so the
  engine catches up with real time instead of answering about ever-older video.
Questions are never dropped; past `capacity` waiting questions a new one is refused at once (EngineError).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import metrics
from engine.api import EngineError
from engine.intake import PendingGroup


@dataclass(frozen=True, slots=True)
class GroupBatch:
    camera_id: str
    groups: tuple[PendingGroup, ...]


@dataclass(frozen=True, slots=True)
class AppendRound:
    """Groups of several cameras, at most one batch per camera, in turn order."""

    batches: tuple[GroupBatch, ...]


class JobQueue:
    """Thread-safe; any thread puts, the engine thread takes."""

    def __init__(self, capacity: int, max_lag_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = capacity
        self._max_lag_s = max_lag_s
        self._clock = clock
        self._cond = threading.Condition()
        self._questions: deque[Any] = deque()
        self._groups: dict[str, deque[PendingGroup]] = {}
        self._turn: deque[str] = deque()  # cameras with waiting groups, in round-robin order
        self.dropped: Counter[tuple[str, str]] = Counter()  # (camera_id, policy) -> groups dropped
        self._closed = False

    def put_question(self, job: Any) -> None:
        with self._cond:
            if self._closed:
                raise EngineError("the engine is stopped; start the service's engine before asking")
            if len(self._questions) >= self._capacity:
                raise EngineError(f"the engine has {len(self._questions)} questions waiting; ask again later")
            self._questions.append(job)
            self._cond.notify()

    def put_group(self, group: PendingGroup) -> list[PendingGroup]:
        """Queue a group; returns the groups dropped to make room (policy queue_full)."""
        with self._cond:
            if self._closed:
                self._count(group.camera_id, "stopped")
                return [group]
            dropped = self._make_room() if self._waiting_groups() >= self._capacity else []
            waiting = self._groups.setdefault(group.camera_id, deque())
            if not waiting:
                self._turn.append(group.camera_id)
            waiting.append(group)
            self._cond.notify()
            return dropped

    def _make_room(self) -> list[PendingGroup]:
        busiest = max(self._turn, key=lambda cam: len(self._groups[cam]))
        self._count(busiest, "queue_full")
        dropped = self._groups[busiest].popleft()
        if not self._groups[busiest]:
            self._turn.remove(busiest)
        return [dropped]

    def _waiting_groups(self) -> int:
        return sum(len(q) for q in self._groups.values())

    def take(self, max_groups: int, timeout: float | None = None) -> Any | GroupBatch | None:
        """The next job: a question if any waits, else up to `max_groups` groups of the next camera in turn.
        None when closed and empty, or on timeout."""
        with self._cond:
            while True:
                if self._questions:
                    return self._questions.popleft()
                batch = self._next_batch(max_groups)
                if batch is not None:
                    return batch
                if self._closed or not self._cond.wait(timeout):
                    return None

    def take_round(
        self, max_groups: int, max_cameras: int, max_questions: int, timeout: float | None = None,
        appends_first: bool = False,
    ) -> list[Any] | AppendRound | None:
        """Waiting questions (at most `max_questions`, oldest first) if any, else an AppendRound of up to
        `max_cameras` cameras; `appends_first` swaps the preference (the engine passes it right after answering a
        batch of questions, so askers in a closed loop cannot starve ingest). None when closed and empty, or on
        timeout."""
        with self._cond:
            while True:
                if self._questions and not appends_first:
                    return self._pop_questions(max_questions)
                batches = self._next_batches(max_groups, max_cameras)
                if batches:
                    return AppendRound(tuple(batches))
                if self._questions:
                    return self._pop_questions(max_questions)
                if self._closed or not self._cond.wait(timeout):
                    return None

    def take_questions(self, limit: int) -> list[Any]:
        """The questions waiting now (at most `limit`, oldest first); never blocks."""
        with self._cond:
            return self._pop_questions(limit)

    def _pop_questions(self, limit: int) -> list[Any]:
        return [self._questions.popleft() for _ in range(min(max(1, limit), len(self._questions)))]

    def _next_batches(self, max_groups: int, max_cameras: int) -> list[GroupBatch]:
        """Up to `max_groups` groups of each of the next `max_cameras` cameras in turn, each camera once."""
        batches: list[GroupBatch] = []
        taken: set[str] = set()
        while len(batches) < max_cameras and self._turn and self._turn[0] not in taken:
            camera = self._turn.popleft()
            waiting = self._groups[camera]
            self._drop_stale(camera, waiting)
            groups = [waiting.popleft() for _ in range(min(max_groups, len(waiting)))]
            if waiting:
                self._turn.append(camera)
            if groups:
                batches.append(GroupBatch(camera, tuple(groups)))
                taken.add(camera)
        return batches

    def _next_batch(self, max_groups: int) -> GroupBatch | None:
        batches = self._next_batches(max_groups, 1)
        return batches[0] if batches else None

    def _drop_stale(self, camera: str, waiting: deque[PendingGroup]) -> None:
        now = self._clock()
        while waiting and now - waiting[0].t_ready > self._max_lag_s:
            waiting.popleft()
            self._count(camera, "lag")

    def _count(self, camera: str, policy: str, n: int = 1) -> None:
        self.dropped[(camera, policy)] += n
        metrics.GROUPS_DROPPED.labels(camera, policy).inc(n)

    def discard(self, camera: str) -> int:
        """Drop every group waiting for the camera (policy `released`: it moved to another machine)."""
        with self._cond:
            waiting = self._groups.pop(camera, deque())
            if camera in self._turn:
                self._turn.remove(camera)
            if waiting:
                self._count(camera, "released", len(waiting))
            return len(waiting)

    def count_drop(self, camera: str, policy: str, n: int) -> None:
        """Groups lost after they left the queue (policy `error`: their batch failed in the engine thread)."""
        with self._cond:
            self._count(camera, policy, n)

    def lag_s(self, camera: str) -> float:
        """How long the camera's oldest waiting group has waited (0 when none waits)."""
        with self._cond:
            waiting = self._groups.get(camera)
            return max(0.0, self._clock() - waiting[0].t_ready) if waiting else 0.0

    def depth(self, camera: str) -> int:
        with self._cond:
            return len(self._groups.get(camera, ()))

    def questions_waiting(self) -> int:
        with self._cond:
            return len(self._questions)

    def dropped_for(self, camera: str) -> int:
        with self._cond:
            return sum(n for (cam, _), n in self.dropped.items() if cam == camera)

    def abandon(self) -> list[Any]:
        """Close and empty the queue at once (the engine thread is gone); returns the questions that waited."""
        with self._cond:
            self._closed = True
            questions, self._questions = list(self._questions), deque()
            self._groups.clear()
            self._turn.clear()
            self._cond.notify_all()
            return questions

    def close(self) -> None:
        """No new jobs; `take` drains what waits, then returns None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
