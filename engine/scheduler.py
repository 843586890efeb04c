"""The engine thread's bounded job queue: questions first, then group appends in round-robin across cameras.

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

    def _next_batch(self, max_groups: int) -> GroupBatch | None:
        while self._turn:
            camera = self._turn.popleft()
            waiting = self._groups[camera]
            self._drop_stale(camera, waiting)
            taken = [waiting.popleft() for _ in range(min(max_groups, len(waiting)))]
            if waiting:
                self._turn.append(camera)
            if taken:
                return GroupBatch(camera, tuple(taken))
        return None

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
