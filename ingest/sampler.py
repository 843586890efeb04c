"""Decides which decoded frames to keep so that a camera delivers its target fps, on the source's own clock."""

from __future__ import annotations

EPSILON_S = 1e-3  # timestamps are rounded by containers; a frame 1 ms early still counts as due


class FpsSampler:
    """Keeps the first frame at or after each due time; due times advance by 1/fps.

    Using the source's timestamps (not arrival times) keeps the rate exact for files read faster than real time
    and steady for network streams that arrive in bursts. A jump backwards or a gap of more than a few periods
    (a discontinuity, a reconnect) restarts the schedule at that frame.
    """

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"sampling fps must be positive (got {fps})")
        self.period = 1.0 / fps
        self._due: float | None = None

    def wants(self, t: float) -> bool:
        """Would a frame at t be kept? Asked before decoding, so frames that would be dropped can be skipped."""
        return self._due is None or self._restarts(t) or t >= self._due - EPSILON_S

    def keep(self, t: float) -> bool:
        """Decide for a frame at t and advance the schedule when it is kept."""
        if not self.wants(t):
            return False
        if self._due is None or self._restarts(t):
            self._due = t + self.period
        else:
            # Advance from the schedule, not from t, so frame jitter does not drift the rate down; a frame more
            # than a period late moves the schedule instead of releasing a burst of catch-up frames.
            self._due += self.period
            if self._due <= t:
                self._due = t + self.period
        return True

    def _restarts(self, t: float) -> bool:
        assert self._due is not None
        return t < self._due - 2 * self.period or t > self._due + 4 * self.period
