"""A source's media clock made monotonic: backward and absurd forward timestamp jumps are re-based, not obeyed.

Recorders reset their clocks, two MPEG-TS files get joined byte-wise (the second starting again at PTS 0), a
DVR's clock is set forward by hours. Obeying such a jump would make a paced file wait (or dump frames at full
speed), the sampler drop everything until time catches up, and the rules see time run backwards. So each jump
is stitched: the frame after it is placed one frame interval after the frame before it, and the stream goes on
from there. The first jump of a source is logged as a warning, every jump is counted in
`vigil_ingest_timestamp_jumps_total{camera_id, direction}`.
"""

from __future__ import annotations

import structlog

from ingest.metrics import TIMESTAMP_JUMPS

log = structlog.get_logger(__name__)

# A gap longer than this between two consecutive frames is a clock jump, not a pause: a camera that stops
# sending for a minute is restarted by its watchdog (at most 600 s, config.cameras), and a recording with a real
# gap that long is re-based too, which only shortens the idle stretch on the replayed timeline.
MAX_FORWARD_GAP_S = 60.0
BACKWARD_TOLERANCE_S = 1e-3  # containers round timestamps; a frame 1 ms "early" is the same instant
DEFAULT_INTERVAL_S = 0.04  # 25 fps, used until two frames have shown the stream's real interval
MAX_INTERVAL_S = 1.0  # bound on the interval learnt from the stream (a slow stream still advances by at most 1 s)


class MonotonicTimeline:
    """Maps raw timestamps (seconds on the source's clock) to seconds since the first frame, never decreasing.

    Owned by the source that reads the frames (one thread). `place()` is for decoded frames, in presentation
    order; `peek()` estimates a packet's place without learning from it (packets come in decode order).
    """

    def __init__(self, camera_id: str, where: str, interval_s: float | None = None) -> None:
        self._camera_id = camera_id
        self._where = where
        self._nominal = interval_s if interval_s and 0 < interval_s <= MAX_INTERVAL_S else DEFAULT_INTERVAL_S
        self._shift: float | None = None  # placed = raw + shift
        self._last: float | None = None  # the newest placed time
        self._interval = self._nominal
        self._stitch_next = False
        self.jumps = 0  # re-basings so far (loops of a looped file are not jumps)

    @property
    def last(self) -> float | None:
        """The newest placed time (seconds since the first frame), None before the first frame."""
        return self._last

    def peek(self, raw: float) -> float:
        """Where a frame at `raw` would be placed if no jump happens (0.0 before the first frame)."""
        if self._shift is None or self._last is None or self._stitch_next:
            return self._last + self._interval if self._last is not None else 0.0
        placed = raw + self._shift
        return self._last + self._interval if self._is_jump(placed - self._last) else placed

    def place(self, raw: float | None) -> float:
        """The frame's time on the monotonic timeline; re-bases (and reports) when `raw` jumped.

        A frame without a timestamp (`raw` None) is placed one interval after the previous one.
        """
        if raw is None:
            self._last = self._last + self._interval if self._last is not None else 0.0
            return self._last
        if self._shift is None or self._last is None:
            self._shift, self._last = -raw, 0.0
            return 0.0
        step = raw + self._shift - self._last
        if self._stitch_next or self._is_jump(step):
            if not self._stitch_next:
                self._report(step)
            self._stitch_next = False
            self._shift = self._last + self._interval - raw
            step = self._interval
        elif step > 0:
            self._interval = min(step, MAX_INTERVAL_S)
        self._last += max(step, 0.0)
        return self._last

    def continue_after_end(self) -> None:
        """The source starts over on purpose (a looped file): the next frame follows the last, unreported."""
        self._stitch_next = self._last is not None

    def _is_jump(self, step: float) -> bool:
        return step < -BACKWARD_TOLERANCE_S or step > MAX_FORWARD_GAP_S

    def _report(self, step: float) -> None:
        direction = "backward" if step < 0 else "forward"
        self.jumps += 1
        TIMESTAMP_JUMPS.labels(camera_id=self._camera_id, direction=direction).inc()
        event = log.warning if self.jumps == 1 else log.debug
        event("ingest.timestamps_rebased", camera_id=self._camera_id, where=self._where, direction=direction,
              jump_s=round(step, 3), at_s=round(self._last or 0.0, 3),
              note="frame time jumped; the stream continues one frame after the previous frame (warned once)")
