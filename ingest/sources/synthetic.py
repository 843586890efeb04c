"""SyntheticSource: the built-in factory scene (ingest.scene) played as a camera, at its own fps."""

from __future__ import annotations

import threading
import time

from config.cameras import SyntheticSource as SyntheticSettings
from ingest.scene import FactoryScene
from ingest.sources.base import POLL_S, Decoded, Wanted
from ingest.sources.counters import SourceCounters


class SyntheticSource:
    """Frame i shows the scene at t = i / fps; a frame is drawn only if the sampler keeps it."""

    def __init__(self, camera_id: str, settings: SyntheticSettings, counters: SourceCounters,
                 stop: threading.Event | None = None) -> None:
        self._settings = settings
        self._counters = counters
        self._stop = stop or threading.Event()
        self._scene: FactoryScene | None = None
        self._index = 0
        self._anchor = (0.0, 0.0)  # (wall, monotonic) of scene time 0
        self.where = f"camera {camera_id!r} synthetic scene seed {settings.seed}"

    @property
    def first_frame_timeout_s(self) -> float:
        return 10.0

    def open(self) -> None:
        # The scene is rebuilt on every open so a restart replays the same timeline from t=0 deterministically.
        self._scene = FactoryScene(self._settings)
        self._index = 0
        self._anchor = (time.time(), time.monotonic())

    def read(self, wanted: Wanted) -> Decoded | None:
        scene = self._scene
        assert scene is not None, "read() before open()"
        t = self._index / self._settings.fps
        if self._settings.realtime and not self._wait_until(t):
            return None
        self._index += 1
        self._counters.frame_in()
        wall, mono = self._anchor
        return Decoded(t, wall + t, mono + t, lambda: scene.render(t))

    def _wait_until(self, t: float) -> bool:
        """Sleep toward scene time t for at most POLL_S; True once t has come (and we are not stopping)."""
        delay = self._anchor[1] + t - time.monotonic()
        if delay <= 0:
            return True
        stopped = self._stop.wait(min(delay, POLL_S))
        return not stopped and delay <= POLL_S

    def close(self) -> None:
        self._scene = None
