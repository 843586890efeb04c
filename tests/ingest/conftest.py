"""Fixtures for ingest tests: a real GStreamer RTSP server, generated media, camera settings, a manager."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.cameras import CameraSettings
from ingest.status import CameraStatus
from tests.support.media import make_h264
from tests.support.rtsp import RtspServer

FAST_BACKOFF = {"initial_s": 0.2, "max_s": 0.5, "factor": 2.0, "jitter": 0.1}


class StatusLog:
    """Collects CameraStatus events from any thread."""

    def __init__(self) -> None:
        self.events: list[CameraStatus] = []
        self._lock = threading.Lock()

    def __call__(self, status: CameraStatus) -> None:
        with self._lock:
            self.events.append(status)

    def of(self, camera_id: str) -> list[CameraStatus]:
        with self._lock:
            return [e for e in self.events if e.camera_id == camera_id]

    def states(self, camera_id: str) -> list[str]:
        return [e.state.value for e in self.of(camera_id)]


def camera(camera_id: str, source: dict[str, Any], **extra: Any) -> CameraSettings:
    return CameraSettings.model_validate({"id": camera_id, "source": source, "backoff": FAST_BACKOFF, **extra})


@pytest.fixture(scope="session")
def media_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of 640x360 H.264 at 25 fps, GOP 25, no B-frames (like a camera)."""
    return make_h264(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4.0)


@pytest.fixture
def rtsp_server(media_file: Path) -> Iterator[RtspServer]:
    server = RtspServer(media_file).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def statuses() -> StatusLog:
    return StatusLog()


CameraFactory = Callable[..., CameraSettings]

# A synthetic camera generated as fast as possible: a healthy neighbour for tests about bad cameras.
SCENE_FAST = {"type": "synthetic", "seed": 1, "width": 160, "height": 96, "fps": 10, "realtime": True}
