"""Synthetic and file cameras through the real manager: sampling, determinism, ending, looping, footage."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from config.cameras import FileSource as FileSettings
from config.cameras import SyntheticSource as SyntheticSettings
from config.storage import StorageSettings
from ingest.errors import SourceEnded
from ingest.footage import FootageStore
from ingest.manager import IngestManager
from ingest.sampler import FpsSampler
from ingest.scene import FactoryScene
from ingest.sources.file import FileSource, open_file_frames
from ingest.stats import CameraCounters
from tests.ingest.conftest import StatusLog, camera
from tests.support.media import make_h264
from tests.support.rtsp import wait_until

SCENE = {"type": "synthetic", "seed": 11, "width": 320, "height": 180, "fps": 10, "realtime": False,
         "events": [{"kind": "person", "start_s": 1.0, "duration_s": 2.0}]}


async def test_synthetic_camera_delivers_the_scene_pixel_for_pixel_at_its_sampled_times(tmp_path: Path) -> None:
    statuses = StatusLog()
    footage = FootageStore(tmp_path, StorageSettings())
    manager = IngestManager([camera("syn", SCENE, fps=2.0, buffer_s=10)], footage, statuses)
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("syn").next_seq >= 12, 20)
    finally:
        await manager.stop()
    frames = manager.buffer("syn").since(0)[-12:]  # read as fast as possible: the ring may have wrapped
    scene = FactoryScene(SyntheticSettings.model_validate(SCENE))
    steps = [round((f.t_wall - frames[0].t_wall) / 0.5, 6) for f in frames]
    assert steps == list(range(12)) and [f.seq for f in frames] == list(range(frames[0].seq, frames[0].seq + 12))
    assert all(np.array_equal(f.image, scene.render(f.seq * 0.5)) for f in frames)
    stats = manager.stats("syn")
    assert stats.frames_in >= 5 * stats.frames_sampled - 5  # 10 fps in, 2 fps kept
    assert stats.dropped["sampled_out"] == stats.frames_in - stats.frames_sampled
    assert footage.retained("syn") is not None
    assert statuses.states("syn")[:2] == ["connecting", "streaming"] and statuses.states("syn")[-1] == "stopped"


async def test_file_played_once_ends_in_stopped_with_a_reason(media_file: Path) -> None:
    statuses = StatusLog()
    source = {"type": "file", "path": str(media_file), "realtime": False}
    manager = IngestManager([camera("f", source, fps=2.0)], None, statuses)
    manager.start()
    try:
        assert wait_until(lambda: manager.status("f").state.value == "stopped", 20)
    finally:
        await manager.stop()
    assert manager.buffer("f").next_seq == 8  # 4 s at 2 fps
    assert "end of file" in manager.status("f").reason
    assert statuses.states("f") == ["connecting", "streaming", "stopped"]


async def test_looped_file_continues_one_timeline_across_loops(media_file: Path) -> None:
    source = {"type": "file", "path": str(media_file), "realtime": False, "loop": True}
    manager = IngestManager([camera("f", source, fps=2.0, buffer_s=30)], None, StatusLog())
    manager.start()
    try:
        assert wait_until(lambda: manager.buffer("f").next_seq >= 20, 30)
    finally:
        await manager.stop()
    times = [f.t_wall for f in manager.buffer("f").since(0)[:20]]
    gaps = np.diff(times)
    assert np.allclose(gaps, 0.5, atol=0.05)  # no repeat and no hole where the file restarts
    assert manager.status("f").state.value == "stopped" and manager.status("f").reconnects == 0


def test_open_file_frames_yields_sampled_frames_on_the_file_timeline(tmp_path: Path) -> None:
    video = make_h264(tmp_path / "b.mp4", seconds=2.0, bframes=2)
    frames = list(open_file_frames(video, fps=5.0, t0_wall=1000.0))
    assert [f.seq for f in frames] == list(range(10))
    assert [f.t_wall - 1000.0 for f in frames] == pytest.approx([i * 0.2 for i in range(10)])
    assert frames[0].image.shape == (360, 640, 3)


def test_non_reference_frames_the_sampler_will_not_keep_are_never_decoded(tmp_path: Path) -> None:
    video = make_h264(tmp_path / "b.mp4", seconds=2.0, bframes=2)  # 50 frames, most of them B (non-reference)
    counters = CameraCounters("f")
    source = FileSource("f", FileSettings(path=video, realtime=False), counters)
    sampler, decoded = FpsSampler(2.0), 0
    source.open()
    with contextlib.suppress(SourceEnded):
        while True:
            picture = source.read(sampler.wants)
            if picture is not None:
                decoded += 1
                sampler.keep(picture.t_media)
    source.close()
    skipped = counters.dropped()["not_decoded"]
    assert counters.frames_in == 50 and skipped >= 10  # x264 keeps some B-frames as references (b-pyramid)
    assert decoded + skipped == 50


def test_open_file_frames_names_a_missing_file(tmp_path: Path) -> None:
    from ingest.errors import SourceError

    with pytest.raises(SourceError, match=r"missing\.mp4: no such file"):
        list(open_file_frames(tmp_path / "missing.mp4", fps=1.0))
