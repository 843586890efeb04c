"""Per-rule scorers for the frame-based conditions (motion, conveyor, presence) and camera health (camera_offline).

Each scorer belongs to one rule on one camera and remembers which frames it has already seen. Detector work
runs in a worker thread so the event loop never waits on OpenCV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from alerts.detectors.conveyor import ConveyorDetector
from alerts.detectors.motion import STALE_WINDOWS, MotionDetector
from alerts.detectors.presence import PeopleSeen, PresenceDetector
from alerts.metrics import DETECTOR_SECONDS
from alerts.ports import FrameFeed
from config.rules import ConveyorCondition, MotionCondition, PresenceCondition, RuleSettings
from ingest.frame import Frame
from ingest.status import CameraStatus

MIN_WINDOW_S = 1.0  # motion is averaged over at least this much video (two frame pairs at 2 fps)


class _FrameScorer:
    def __init__(self, camera_id: str, window_s: float) -> None:
        self._camera_id = camera_id
        self.window_s = window_s
        self._next_seq = -1  # unknown until the first frame is seen

    def fresh(self, feed: FrameFeed, now: float) -> list[Frame]:
        """Frames not seen before and at most STALE_WINDOWS windows old (a long backlog says nothing about now)."""
        if self._next_seq < 0:
            # First look: start at the newest frame rather than ask for (and count as missed) evicted ones.
            latest = feed.latest()
            if latest is None:
                return []
            self._next_seq = latest.seq
        frames = feed.since(self._next_seq)
        if frames:
            self._next_seq = frames[-1].seq + 1
        return [f for f in frames if f.t_wall >= now - STALE_WINDOWS * self.window_s]


class MotionScorer(_FrameScorer):
    def __init__(self, camera_id: str, condition: MotionCondition, every_s: float) -> None:
        super().__init__(camera_id, max(MIN_WINDOW_S, every_s))
        self._detector = MotionDetector(condition, self.window_s)

    async def score(self, feed: FrameFeed, now: float) -> float | None:
        frames = self.fresh(feed, now)
        with DETECTOR_SECONDS.labels(self._camera_id, "motion").time():
            await asyncio.to_thread(self._detector.update, frames)
        energy = self._detector.energy(now)
        return None if energy is None else self._detector.score(energy)


class ConveyorScorer(_FrameScorer):
    """The conveyor condition; remembers the belt's learned normal speed across restarts (memory/restore)."""

    def __init__(self, camera_id: str, rule_id: str, condition: ConveyorCondition, every_s: float) -> None:
        super().__init__(camera_id, max(MIN_WINDOW_S, every_s))
        self._detector = ConveyorDetector(condition, self.window_s, camera_id, rule_id)

    async def score(self, feed: FrameFeed, now: float) -> float | None:
        frames = self.fresh(feed, now)
        with DETECTOR_SECONDS.labels(self._camera_id, "conveyor").time():
            await asyncio.to_thread(self._detector.update, frames)
        return self._detector.score(now)

    def figures(self) -> dict[str, float]:
        return self._detector.figures()

    def memory(self) -> dict[str, Any]:
        return self._detector.memory()

    def restore(self, memory: dict[str, Any]) -> None:
        self._detector.restore(memory)


class PresenceScorer(_FrameScorer):
    def __init__(self, camera_id: str, condition: PresenceCondition, every_s: float) -> None:
        super().__init__(camera_id, max(MIN_WINDOW_S, every_s))
        self._detector = PresenceDetector(condition)

    async def score(self, feed: FrameFeed, now: float) -> float | None:
        frames = self.fresh(feed, now)
        if not frames:
            return None
        with DETECTOR_SECONDS.labels(self._camera_id, "presence").time():
            return await asyncio.to_thread(self._detector.score, frames)

    @property
    def seen(self) -> PeopleSeen | None:
        """The count and boxes of the newest frame scanned (read on the event loop between ticks)."""
        return self._detector.seen


def offline_score(statuses: Mapping[str, CameraStatus], camera_id: str) -> float | None:
    """1 while the camera is not streaming, 0 while it is; None until its first status arrives."""
    status = statuses.get(camera_id)
    return None if status is None else (0.0 if status.online else 1.0)


FrameScorer = MotionScorer | ConveyorScorer | PresenceScorer


def frame_scorer(rule: RuleSettings, camera_id: str) -> FrameScorer | None:
    condition = rule.condition
    if isinstance(condition, MotionCondition):
        return MotionScorer(camera_id, condition, rule.every_s)
    if isinstance(condition, ConveyorCondition):
        return ConveyorScorer(camera_id, rule.id, condition, rule.every_s)
    if isinstance(condition, PresenceCondition):
        return PresenceScorer(camera_id, condition, rule.every_s)
    return None
