"""Hostile media through ingest's own decode path: clocks that reset or leap, files cut short, sideways pictures."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
import structlog
from prometheus_client import REGISTRY

from config.cameras import FileSource as FileSettings
from ingest.errors import SourceEnded
from ingest.frame import Frame
from ingest.manager import IngestManager
from ingest.sources.base import FileEnding
from ingest.sources.file import FileSource, open_file_frames
from ingest.sources.timeline import MAX_FORWARD_GAP_S, MonotonicTimeline
from ingest.status import CameraState
from tests.ingest.conftest import StatusLog, camera
from tests.support.hostile_media import (
    make_joined_ts,
    make_rotated_mp4,
    make_truncated_mp4,
    marker_picture,
)
from tests.support.rtsp import wait_until

FPS = 10


def jumps(camera_id: str, direction: str) -> float:
    value = REGISTRY.get_sample_value("vigil_ingest_timestamp_jumps_total",
                                      {"camera_id": camera_id, "direction": direction})
    return value or 0.0


def read_all(path: Path, camera_id: str, fps: float = 5.0) -> tuple[list[Frame], FileEnding | None]:
    frames = open_file_frames(path, fps, camera_id, t0_wall=1000.0)
    out: list[Frame] = []
    while True:
        try:
            out.append(next(frames))
        except StopIteration as end:
            return out, end.value


@pytest.mark.parametrize(("raw", "expected"), [
    ([0.0, 0.1, 0.2, 0.0, 0.1], [0.0, 0.1, 0.2, 0.3, 0.4]),  # a clock reset
    ([5.0, 5.1, 5.2, 1.0, 1.1], [0.0, 0.1, 0.2, 0.3, 0.4]),  # a reset to somewhere earlier
    ([0.0, 0.1, 0.2, 3600.2, 3600.3], [0.0, 0.1, 0.2, 0.3, 0.4]),  # a clock leaping an hour
    ([0.0, 0.5, 1.0, 1.5], [0.0, 0.5, 1.0, 1.5]),  # an ordinary stream is left alone
    ([0.0, 0.1, 0.1, 0.2], [0.0, 0.1, 0.1, 0.2]),  # a repeated timestamp is not a jump
])
def test_timeline_rebases_backward_and_absurd_forward_jumps(raw: list[float], expected: list[float]) -> None:
    timeline = MonotonicTimeline("tl", "test")
    placed = [timeline.place(t) for t in raw]
    assert placed == pytest.approx(expected)
    assert timeline.jumps == (0 if raw == sorted(raw) and raw[-1] - raw[0] < MAX_FORWARD_GAP_S else 1)


def test_timeline_warns_once_and_counts_every_jump() -> None:
    before = jumps("warn-once", "backward"), jumps("warn-once", "forward")
    timeline = MonotonicTimeline("warn-once", "test")
    with structlog.testing.capture_logs() as logs:
        for start in (0.0, 0.0, 0.0, 7200.0):  # three resets, then a leap forward
            for i in range(3):
                timeline.place(start + i * 0.1)
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["ingest.timestamps_rebased"]
    assert jumps("warn-once", "backward") - before[0] == 2
    assert jumps("warn-once", "forward") - before[1] == 1
    assert timeline.jumps == 3


def test_a_loop_continues_the_timeline_without_counting_a_jump() -> None:
    timeline = MonotonicTimeline("loop", "test", interval_s=0.1)
    first = [timeline.place(t) for t in (0.0, 0.1, 0.2)]
    timeline.continue_after_end()
    second = [timeline.place(t) for t in (0.0, 0.1)]
    assert first + second == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert timeline.jumps == 0


@pytest.mark.parametrize("second_clock_s", [0.0, 2.0, 3600.0])
def test_joined_recordings_play_through_on_one_monotonic_timeline(tmp_path: Path, second_clock_s: float) -> None:
    video = make_joined_ts(tmp_path / "joined.ts", marker_picture(), FPS, [(0, 40, 0.0), (40, 40, second_clock_s)])
    camera_id = f"joined-{second_clock_s:g}"
    frames, ending = read_all(video, camera_id)
    times = [f.t_wall - 1000.0 for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert len(frames) == 40  # 8 s at 5 fps: both halves, nothing lost at the joint
    assert times[-1] == pytest.approx(7.8, abs=0.11)
    assert ending is not None and ending.jumps == 1 and not ending.truncated


def test_a_paced_file_camera_never_sees_time_run_backwards(tmp_path: Path) -> None:
    video = make_joined_ts(tmp_path / "reset.ts", marker_picture(), FPS, [(0, 20, 0.0), (20, 20, 0.0)])
    stop = threading.Event()
    source = FileSource("paced", FileSettings(path=video, realtime=False), _Counters(), stop)
    source.open()
    times: list[float] = []
    try:
        with pytest.raises(SourceEnded) as ended:
            while True:
                decoded = source.read(lambda _: True)
                if decoded is not None:
                    times.append(decoded.t_media)
    finally:
        source.close()
    assert times == pytest.approx([i / FPS for i in range(40)])
    assert ended.value.ending is not None and ended.value.ending.jumps == 1


def test_a_truncated_file_says_how_much_is_missing(tmp_path: Path) -> None:
    video = make_truncated_mp4(tmp_path / "cut.mp4", marker_picture(320, 192), 100, FPS)
    frames, ending = read_all(video, "cut")
    assert ending is not None and ending.truncated
    assert ending.stated_s == pytest.approx(10.0)
    assert ending.read_s + ending.missing_s == pytest.approx(10.0)
    assert 2.0 < ending.missing_s < 9.0
    assert f"{ending.missing_s:.1f} s missing" in ending.describe()
    assert frames and frames[-1].t_wall - 1000.0 <= ending.read_s + 1e-6


def test_a_whole_file_is_not_called_truncated(tmp_path: Path) -> None:
    video = make_truncated_mp4(tmp_path / "whole.mp4", marker_picture(), 30, FPS, keep=1.0)
    _, ending = read_all(video, "whole")
    assert ending is not None and not ending.truncated and ending.missing_s == 0.0


@pytest.mark.parametrize("hflip", [False, True])
@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_frames_are_turned_upright_by_the_display_matrix(tmp_path: Path, degrees: int, hflip: bool) -> None:
    upright = marker_picture(160, 96)
    video = make_rotated_mp4(tmp_path / f"rot{degrees}.mp4", upright, 5, FPS, degrees, hflip)
    frames, _ = read_all(video, f"rot{degrees}-{hflip}")
    image = frames[0].image
    assert image.shape == (96, 160, 3)
    corners = [image[:32, :53].mean(), image[:32, -53:].mean(), image[-32:, :53].mean(), image[-32:, -53:].mean()]
    assert corners[0] > 200 and 120 < corners[1] < 180 and max(corners[2:]) < 80  # white top-left, grey top-right
    assert np.abs(image.astype(int) - upright(0).astype(int)).mean() < 8


class _Counters:
    def frame_in(self) -> None:
        pass

    def drop(self, reason: str, count: int = 1) -> None:
        pass


async def test_a_file_camera_on_joined_recordings_runs_to_the_end_and_a_cut_one_says_what_is_missing(
        tmp_path: Path) -> None:
    joined = make_joined_ts(tmp_path / "joined.ts", marker_picture(), FPS, [(0, 30, 0.0), (30, 30, 0.0)])
    cut = make_truncated_mp4(tmp_path / "cut.mp4", marker_picture(320, 192), 100, FPS)
    statuses = StatusLog()
    cameras = [camera(name, {"type": "file", "path": str(path), "realtime": False}, fps=5.0, buffer_s=60)
               for name, path in (("joined", joined), ("cut", cut))]
    manager = IngestManager(cameras, None, statuses)
    manager.start()
    try:
        assert wait_until(lambda: all(manager.status(c).state is CameraState.STOPPED
                                      and statuses.states(c)[-1:] == ["stopped"] for c in ("joined", "cut")), 60)
    finally:
        await manager.stop()
    frames = manager.buffer("joined").since(0)
    assert len(frames) == 30 and all(a.t_wall < b.t_wall for a, b in itertools.pairwise(frames))
    assert "end of file reached" in manager.status("joined").reason
    assert "s missing (truncated or damaged file)" in manager.status("cut").reason
