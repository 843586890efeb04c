"""A belt's normal running speed, learned online from the speeds it shows while running.

Kept in frame widths per second, so it survives a change of stream resolution. The first estimate is the median of
the first LEARN_S seconds of running; after that it follows slowly (time constant TAU_S) and only from speeds
within half to twice itself, so a slowed or a stopped belt never teaches it a lower normal, and a pile-up (whose
exposed belt runs at the normal speed) does not disturb it.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

LEARN_S = 8.0  # seconds of running before the first estimate
TAU_S = 600.0  # later estimates follow this slowly
FOLLOW = (0.5, 2.0)  # only speeds within these multiples of the estimate teach it


class NormalSpeed:
    def __init__(self) -> None:
        self.fw_s: float | None = None  # frame widths per second; None until learned
        self._first: list[float] = []
        self._seen_s = 0.0

    def px_s(self, width: int) -> float | None:
        return None if self.fw_s is None else self.fw_s * width

    def observe(self, fw_s: float, dt: float) -> None:
        """A speed the running belt showed over the last `dt` seconds."""
        if not math.isfinite(fw_s) or fw_s <= 0:
            return
        if self.fw_s is None:
            self._first.append(fw_s)
            self._seen_s += dt
            if self._seen_s >= LEARN_S and len(self._first) >= 3:
                self.fw_s, self._first = statistics.median(self._first), []
            return
        if FOLLOW[0] * self.fw_s <= fw_s <= FOLLOW[1] * self.fw_s:
            self.fw_s += (fw_s - self.fw_s) * min(1.0, dt / TAU_S)

    def memory(self) -> dict[str, Any]:
        return {"normal_fw_s": self.fw_s}

    def restore(self, memory: dict[str, Any]) -> None:
        value = memory.get("normal_fw_s")
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            self.fw_s = float(value)
