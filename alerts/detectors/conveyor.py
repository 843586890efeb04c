"""The conveyor condition: is the belt stopped, or piling up? Measured with optical flow only where the belt can
be measured, judged against the belt's own normal speed (see belt_flow, belt_state and docs/conveyor.md).

Score: 1.0 while the configured state (stopped or pileup) holds, 0.0 while it does not, None while the belt
cannot be measured (the rule then holds its state). A frame the detector cannot take (too small, wrong shape
or dtype) is skipped and counted in `vigil_detector_frames_skipped_total`, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import structlog

from alerts.detectors.belt_flow import FlowMeter, FrameRejected
from alerts.detectors.belt_state import BeltJudge
from alerts.detectors.frames import FRAMES_SKIPPED
from config.rules import ConveyorCondition
from ingest.frame import Frame

log = structlog.get_logger(__name__)


class ConveyorDetector:
    """One belt on one camera for one rule. Fed frames in order from one thread at a time."""

    def __init__(self, condition: ConveyorCondition, window_s: float, camera_id: str = "", rule_id: str = "") -> None:
        self._condition = condition
        self._meter = FlowMeter(condition.region, condition.direction)
        self._judge = BeltJudge(window_s, condition.stopped_below_pct, condition.clear_above_pct)
        self._log = log.bind(camera_id=camera_id, rule_id=rule_id)
        self._camera_id = camera_id
        self.skipped = 0

    def update(self, frames: Sequence[Frame]) -> None:
        for frame in frames:
            self.feed(frame.t_wall, frame.image)

    def feed(self, t: float, image: np.ndarray) -> None:
        """Measure one frame against the previous one; a frame that cannot be taken is skipped and counted."""
        try:
            reading = self._meter.measure(t, image)
        except FrameRejected as exc:
            self.skipped += 1
            FRAMES_SKIPPED.labels(self._camera_id, "conveyor", "rejected").inc()  # reason: in the warning
            if self.skipped == 1 or self.skipped % 1000 == 0:
                self._log.warning("conveyor.frame_skipped", reason=str(exc), skipped=self.skipped)
            return
        if reading is not None:
            self._judge.add(reading)

    def score(self, now: float) -> float | None:
        """1.0 / 0.0 for the configured state, None while the belt cannot be measured."""
        if not self._judge.tick(now):
            return None
        holds = self._judge.stopped if self._condition.state == "stopped" else self._judge.pileup
        return 1.0 if holds else 0.0

    def figures(self) -> dict[str, float]:
        """What the last tick measured, for the alert: speeds in px/s of the source frame, held cells."""
        v = self._judge.view
        out: dict[str, float] = {"cells": float(v.cells), "measured_cells": float(v.measured)}
        if v.speed is not None:
            out["speed_px_s"] = round(v.speed, 2)
        if v.normal is not None:
            out["normal_speed_px_s"] = round(v.normal, 2)
        if v.speed is not None and v.normal:
            out["pct_of_normal"] = round(100 * v.speed / v.normal, 1)
        if self._condition.state == "pileup":
            out["held_cells"] = float(v.held)
        return out

    def memory(self) -> dict[str, Any]:
        """What must survive a restart: the learned normal speed."""
        return self._judge.normal.memory()

    def restore(self, memory: dict[str, Any]) -> None:
        self._judge.normal.restore(memory)
