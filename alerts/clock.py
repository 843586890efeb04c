"""Clocks for the rule runner: the real one, and a virtual one that runs rules faster than real time."""

from __future__ import annotations

import asyncio
import heapq
import time


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class VirtualClock:
    """Time moves only when every expected sleeper is asleep, so rules run as fast as the CPU allows.

    `vigil replay` and the tests drive it with run_until(); settle_timeout_s (None: wait for ever) catches a
    task that never goes back to sleep."""

    def __init__(self, start: float, settle_timeout_s: float | None = 20.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = 0
        self._settle_timeout_s = settle_timeout_s

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._order += 1
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), self._order, future))
        await future

    async def run_until(self, t: float, sleepers: int) -> None:
        """Advance to t, waking sleepers in deadline order; waits for all `sleepers` tasks to sleep each time."""
        while True:
            await self._settle(sleepers)
            if not self._sleepers or self._sleepers[0][0] > t:
                self._now = max(self._now, t)
                return
            deadline = self._sleepers[0][0]
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= deadline:
                heapq.heappop(self._sleepers)[2].set_result(None)

    async def _settle(self, sleepers: int) -> None:
        limit = None if self._settle_timeout_s is None else time.monotonic() + self._settle_timeout_s
        while self._prune() < sleepers:
            if limit is not None and time.monotonic() > limit:
                raise TimeoutError(f"only {len(self._sleepers)} of {sleepers} tasks went to sleep")
            await asyncio.sleep(0.001)

    def _prune(self) -> int:
        """Forget sleepers of cancelled tasks (a stopped runner); return how many still wait."""
        self._sleepers = [s for s in self._sleepers if not s[2].done()]
        heapq.heapify(self._sleepers)
        return len(self._sleepers)
