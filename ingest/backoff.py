"""Exponential backoff with jitter and a cap, for reconnecting a camera."""

from __future__ import annotations

import random

from config.cameras import Backoff


class BackoffPolicy:
    """Wait initial_s, then factor times longer after each failure up to max_s, each wait ± jitter."""

    def __init__(self, settings: Backoff, rng: random.Random | None = None) -> None:
        self._s = settings
        self._rng = rng or random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        base = min(self._s.max_s, self._s.initial_s * self._s.factor ** min(self._failures, 64))
        self._failures += 1
        spread = self._s.jitter * self._rng.uniform(-1.0, 1.0)
        # Jitter spreads 50 cameras that failed together (a switch reboot) so they do not reconnect in step.
        return max(0.0, min(self._s.max_s, base * (1.0 + spread)))

    def reset(self) -> None:
        """A camera that streamed again starts from initial_s at its next failure."""
        self._failures = 0
