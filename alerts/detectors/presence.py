"""People in a zone: found at the size they appear (people_view, people_finder), tracked (zone_tracker).

Per frame the detector validates the image (frames.FrameGate), scans the zone's neighbourhood at the scale the
expected person height asks for, and tracks the boxes. A frame *holds* when at least `min_count` people have had
their feet in the zone for at least `min_dwell_s`. The score is the fraction of the last FRAMES_PER_SCORE
frames that held, so one missed or spurious frame moves it by a third, not from 0 to 1.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.detectors.frames import FRAMES_UNSCANNED, FrameGate, FrameNeeds, FrameProblem, warn_once
from alerts.detectors.people_finder import PeopleFinder
from alerts.detectors.people_view import AUTO_PERSON_HEIGHT, HOG_WINDOW, ViewPlan, plan_view
from alerts.detectors.zone_tracker import PersonBox, ZoneTracker
from config.rules import PresenceCondition
from ingest.frame import Frame

FRAMES_PER_SCORE = 3
NEEDS = FrameNeeds(min_width=8, min_height=8)  # anything smaller is refused before a plan is even made
DETECTOR = "presence"
BUDGET_SLACK = 0.9  # a frame that comes a little early for the budget is scanned: cameras' clocks jitter


@dataclass(frozen=True, slots=True)
class PeopleSeen:
    """The people counted in the newest frame: `at` its time (Unix s), boxes normalized 0..1."""

    at: float
    count: int
    boxes: tuple[PersonBox, ...]


class PresenceDetector:
    """Counts people in one zone of one camera; owned by one rule slot, fed frames in order."""

    def __init__(self, condition: PresenceCondition) -> None:
        self._condition = condition
        self._gate = FrameGate(DETECTOR, NEEDS)
        self._finder = PeopleFinder()
        self._tracker = ZoneTracker(condition.region)
        self._plans: dict[tuple[int, int], ViewPlan | FrameProblem] = {}
        self._held: deque[bool] = deque(maxlen=FRAMES_PER_SCORE)  # per scanned frame: did it hold
        self._last_seq = -1
        self._scanned_at = -math.inf
        self.seen: PeopleSeen | None = None

    @property
    def status(self) -> str:
        """'ok', or why the newest frame was skipped."""
        return self._gate.status

    @property
    def entries(self) -> int:
        """People who entered the zone since the detector started (one person entering twice counts twice)."""
        return self._tracker.entries

    def score(self, frames: Sequence[Frame]) -> float | None:
        """Fraction of the newest FRAMES_PER_SCORE usable frames that held; None when none was usable."""
        for frame in frames:
            self.update(frame)
        if not self._held:
            return None
        return sum(self._held) / len(self._held)

    def update(self, frame: Frame) -> None:
        """Scan one frame (once: frames already seen are ignored) and track the people in it."""
        if frame.seq <= self._last_seq:
            return
        self._last_seq = frame.seq
        if not self._gate.admit(frame.camera_id, frame.image):
            return
        h, w = frame.image.shape[:2]
        plan = self._plan(frame.camera_id, w, h)
        if isinstance(plan, FrameProblem):
            self._gate.refuse(frame.camera_id, plan)
            return
        if frame.t_wall - self._scanned_at < BUDGET_SLACK * plan.interval_s:
            FRAMES_UNSCANNED.labels(frame.camera_id, DETECTOR).inc()
            return
        self._scanned_at = frame.t_wall
        self._tracker.update(self._finder.find(frame.image, plan), frame.t_wall, w, h)
        people = self._tracker.people(frame.t_wall, self._condition.min_dwell_s)
        self.seen = PeopleSeen(frame.t_wall, len(people), tuple(people))
        self._held.append(len(people) >= self._condition.min_count)

    def count(self, frame: Frame) -> int:
        """People counted in the zone as of `frame` (fed to the detector first): the count of the newest frame
        scanned; 0 before any frame could be scanned."""
        self.update(frame)
        return 0 if self.seen is None else self.seen.count

    def _plan(self, camera_id: str, width: int, height: int) -> ViewPlan | FrameProblem:
        if (width, height) not in self._plans:
            plan = plan_view(width, height, self._condition.region, self._condition.person_height)
            self._plans[(width, height)] = plan
            if isinstance(plan, ViewPlan):
                self._warn_coverage(camera_id, width, height, plan)
        return self._plans[(width, height)]

    def _warn_coverage(self, camera_id: str, width: int, height: int, plan: ViewPlan) -> None:
        if width < HOG_WINDOW[0] or height < HOG_WINDOW[1]:
            warn_once(camera_id, DETECTOR, "upscaled",
                      f"frame {width}x{height} is smaller than the people detector's {HOG_WINDOW[0]}x{HOG_WINDOW[1]} "
                      f"window: scanned {plan.scale:.1f}x enlarged, people look blurred and are found less often; "
                      "use a higher-resolution stream")
        lo_frac = (self._condition.person_height or AUTO_PERSON_HEIGHT)[0]
        if plan.seen[0] > 1.05 * lo_frac * height:
            warn_once(camera_id, DETECTOR, "coverage",
                      f"frame {width}x{height}: people shorter than {plan.seen[0]:.0f} px "
                      f"({plan.seen[0] / height:.2f} of the frame) are not seen; a higher-resolution stream, "
                      "a smaller zone or a larger person_height fixes it")
