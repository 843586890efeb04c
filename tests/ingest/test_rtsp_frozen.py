"""A frozen RTSP server (process stopped, socket open): no false "streaming", a live status text, one restart."""

from __future__ import annotations

import os
import re
import signal
import threading

from ingest.buffer import FrameBuffer
from ingest.lifecycle import CameraLifecycle
from ingest.manager import IngestManager
from ingest.stats import CameraCounters
from ingest.status import CameraState
from ingest.supervisor import STALL_FRACTION, CameraSupervisor
from tests.ingest.conftest import StatusLog, camera
from tests.support.rtsp import RtspServer, wait_until

WATCHDOG_S = 3.0


def rtsp(url: str) -> dict[str, object]:
    return {"type": "rtsp", "url": url, "open_timeout_s": 5, "read_timeout_s": 30}  # the watchdog bounds the read


async def test_frames_held_back_by_a_frozen_server_do_not_bring_the_camera_back(rtsp_server: RtspServer) -> None:
    statuses = StatusLog()
    manager = IngestManager([camera("cam", rtsp(rtsp_server.url()), fps=2.0, watchdog_s=WATCHDOG_S)], None,
                            statuses)
    pid = rtsp_server._proc.pid  # type: ignore[union-attr]
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("cam").next_seq >= 2, 20)
        frozen_at = len(statuses.of("cam"))
        os.kill(pid, signal.SIGSTOP)  # TCP stays open, nothing arrives; FFmpeg still holds the last packet
        try:
            assert wait_until(lambda: "backoff" in statuses.states("cam")[frozen_at:], 30)
        finally:
            os.kill(pid, signal.SIGCONT)
        before = manager.buffer("cam").next_seq
        assert wait_until(lambda: manager.buffer("cam").next_seq > before, 30)
    finally:
        await manager.stop()
    after = statuses.of("cam")[frozen_at:]
    first_backoff = next(i for i, e in enumerate(after) if e.state is CameraState.BACKOFF)
    # from the freeze to the restart: stalled (perhaps restated), never "streaming" on frames from before
    assert {e.state for e in after[:first_backoff]} == {CameraState.STALLED}
    assert "no answer in time" in after[first_backoff].reason
    assert manager.status("cam").stalls >= 1
    assert "streaming" in [e.state.value for e in after[first_backoff:]]  # it recovers once the server runs


def test_a_stalled_camera_restates_its_silence_instead_of_freezing_its_text() -> None:
    statuses = StatusLog()
    settings = camera("cam", {"type": "synthetic"}, watchdog_s=WATCHDOG_S * 10)
    life = CameraLifecycle("cam", statuses)
    supervisor = CameraSupervisor(settings, _NoSource(), FrameBuffer("cam", 4), None, life,
                                  CameraCounters("cam"), threading.Event())
    life.move(CameraState.CONNECTING)
    life.move(CameraState.STREAMING)
    supervisor._last_frame = 1000.0  # the worker saw its last frame at monotonic 1000 s
    stall_at = 1000.0 + settings.watchdog_s * STALL_FRACTION
    for now in (1000.5, stall_at + 0.1, stall_at + 0.4, stall_at + 1.1, stall_at + 5.2, stall_at + 5.3):
        supervisor.tick(now)
    stalled = [e for e in statuses.of("cam") if e.state is CameraState.STALLED]
    seconds = [int(re.match(r"no frame for (\d+) s", e.reason).group(1)) for e in stalled]  # type: ignore[union-attr]
    assert seconds == [15, 16, 20]  # one status per whole second that changed the text, none in between
    assert life.status.stalls == 1  # restating is not a new stall
    assert len({e.t_wall for e in stalled}) == 1  # and keeps the time the camera stalled
    assert all(f"restarts the source at {settings.watchdog_s:g} s" in e.reason for e in stalled)


class _NoSource:
    first_frame_timeout_s = 1.0

    def open(self) -> None:
        pass

    def read(self, wanted: object) -> None:
        return None

    def close(self) -> None:
        pass
