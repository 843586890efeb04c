"""RTSP cameras against a real GStreamer RTSP server on loopback: rate, crash and restart, late start, bad URLs."""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from ingest.manager import IngestManager
from tests.ingest.conftest import SCENE_FAST, StatusLog, camera
from tests.support.net import free_port
from tests.support.rtsp import RtspServer, wait_until


def rtsp(url: str, **extra: object) -> dict[str, object]:
    return {"type": "rtsp", "url": url, "open_timeout_s": 5, "read_timeout_s": 3, **extra}


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_rtsp_camera_delivers_frames_at_the_target_fps(rtsp_server: RtspServer, transport: str) -> None:
    source = rtsp(rtsp_server.url(), transport=transport)
    manager = IngestManager([camera("cam", source, fps=5.0)], None, StatusLog())
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("cam").next_seq >= 20, 60)
    finally:
        await manager.stop()
    frames = manager.buffer("cam").since(0)
    # Frames are stamped on arrival; the first second arrives in one burst (FFmpeg probes it while opening).
    steady = frames[8:]
    rate = (len(steady) - 1) / (steady[-1].t_mono - steady[0].t_mono)
    assert 4.0 <= rate <= 6.0
    assert frames[0].image.shape == (360, 640, 3) and len({f.image.tobytes() for f in frames}) == len(frames)
    stats = manager.stats("cam")
    assert 4.0 <= stats.frames_in / stats.frames_sampled <= 6.0  # 25 fps in, 5 kept
    assert stats.reconnects == 0 and stats.dropped.get("decode_error", 0) == 0


async def test_server_crash_moves_camera_to_backoff_and_restart_brings_frames_back(rtsp_server: RtspServer) -> None:
    statuses = StatusLog()
    manager = IngestManager([camera("cam", rtsp(rtsp_server.url()), fps=2.0)], None, statuses)
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("cam").next_seq >= 2, 60)
        rtsp_server.kill()
        assert wait_until(lambda: "backoff" in statuses.states("cam"), 60)
        before = manager.buffer("cam").next_seq
        rtsp_server.start()
        assert wait_until(lambda: manager.buffer("cam").next_seq >= before + 2, 60)
    finally:
        await manager.stop()
    states = statuses.states("cam")
    assert states[:2] == ["connecting", "streaming"]
    assert states.index("backoff") < len(states) - 1 and "streaming" in states[states.index("backoff"):]
    assert manager.status("cam").reconnects >= 1 and manager.stats("cam").reconnects >= 1
    frames = manager.buffer("cam").since(0)
    assert [f.seq for f in frames] == list(range(len(frames)))  # one sequence across the reconnect
    assert all(a.t_wall < b.t_wall for a, b in itertools.pairwise(frames))


async def test_camera_whose_server_is_absent_at_start_is_retried_until_it_appears(media_file: Path) -> None:
    statuses = StatusLog()
    server = RtspServer(media_file)
    manager = IngestManager([camera("cam", rtsp(server.url()), fps=2.0)], None, statuses)
    manager.start()
    try:
        assert wait_until(lambda: statuses.states("cam").count("backoff") >= 2, 60)
        server.start()
        assert wait_until(lambda: manager.buffer("cam").next_seq >= 1, 60)
    finally:
        await manager.stop()
        server.stop()
    first_failure = next(e for e in statuses.of("cam") if e.state.value == "backoff")
    assert "nothing accepts connections" in first_failure.reason and first_failure.previous is not None
    assert first_failure.previous.value == "connecting"


async def test_bad_urls_give_clear_errors_and_status_events_while_other_cameras_run(rtsp_server: RtspServer) -> None:
    statuses = StatusLog()
    port = rtsp_server.port
    cameras = [
        camera("wrong-port", rtsp(f"rtsp://127.0.0.1:{free_port()}/test")),
        camera("wrong-host", rtsp(f"rtsp://no-such-camera.invalid:{port}/test")),
        camera("wrong-path", rtsp(f"rtsp://admin:s3cret@127.0.0.1:{port}/nope")),
        camera("no-video", rtsp(f"rtsp://127.0.0.1:{port}/audio")),
        camera("good", rtsp(rtsp_server.url()), fps=2.0),
        camera("demo", SCENE_FAST, fps=2.0),
    ]
    manager = IngestManager(cameras, None, statuses)
    manager.start()
    try:
        bad = ("wrong-port", "wrong-host", "wrong-path", "no-video")
        assert wait_until(lambda: all("backoff" in statuses.states(c) for c in bad), 60)
        good_seen = manager.buffer("good").next_seq
        assert wait_until(lambda: manager.buffer("good").next_seq >= good_seen + 2, 60)
    finally:
        await manager.stop()
    reasons = {c: next(e.reason for e in statuses.of(c) if e.state.value == "backoff") for c in bad}
    assert "nothing accepts connections" in reasons["wrong-port"]
    assert "host name 'no-such-camera.invalid' does not resolve" in reasons["wrong-host"]
    assert "no stream at this path" in reasons["wrong-path"] and "rtsp://***@127.0.0.1" in reasons["wrong-path"]
    assert "serves no video stream (found: audio)" in reasons["no-video"]
    assert not any("s3cret" in e.reason for e in statuses.events)
    assert manager.buffer("demo").next_seq > 0
    assert all(manager.stats(c).frames_sampled == 0 for c in bad)


async def test_a_hung_server_marks_the_camera_stalled_then_the_watchdog_restarts_it(rtsp_server: RtspServer) -> None:
    statuses = StatusLog()
    # stalled after 2 s of silence (half the watchdog), the connection ended after 4-6 s: by the watchdog or by
    # FFmpeg's read timeout, whichever comes first on a loaded machine; both reasons are right
    source = rtsp(rtsp_server.url(), read_timeout_s=6)
    manager = IngestManager([camera("cam", source, fps=2.0, watchdog_s=4.0)], None, statuses)
    pid = rtsp_server._proc.pid  # type: ignore[union-attr]
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("cam").next_seq >= 1, 60)
        os.kill(pid, signal.SIGSTOP)  # the camera hangs: TCP stays open, nothing arrives
        try:
            assert wait_until(lambda: "stalled" in statuses.states("cam"), 60)
            assert wait_until(lambda: "backoff" in statuses.states("cam"), 60)
        finally:
            os.kill(pid, signal.SIGCONT)
        before = manager.buffer("cam").next_seq
        assert wait_until(lambda: manager.buffer("cam").next_seq > before, 60)
    finally:
        await manager.stop()
    states = statuses.states("cam")
    backoff = states.index("backoff")
    assert states[backoff - 1] == "stalled" and states[backoff + 1:backoff + 3] == ["connecting", "streaming"]
    reason = statuses.of("cam")[backoff].reason
    assert "no answer in time" in reason or "watchdog_s 4" in reason, reason
    assert manager.status("cam").stalls >= 1
    assert np.isfinite(manager.stats("cam").sampled_fps)
