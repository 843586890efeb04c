"""FootageStore: JPEGs on disk within budgets, snapshots, MP4 clips, an index that survives a restart."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from config.cameras import SyntheticSource
from config.storage import StorageSettings
from ingest.errors import ClipTooLong, FootageWriteError, InvalidRange, NotRetained
from ingest.footage import FootageStore
from ingest.frame import Frame
from ingest.scene import FactoryScene

SCENE = FactoryScene(SyntheticSource(seed=3, width=320, height=180))
T0 = time.time() - 600  # footage from ten minutes ago: inside the default max_age_s


def frame(camera_id: str, seq: int, fps: float = 2.0, t0: float = T0) -> Frame:
    t = seq / fps
    return Frame.make(camera_id, seq, t, t0 + t, SCENE.render(t))


def files(root: Path, camera_id: str | None = None) -> list[Path]:
    return sorted((root / camera_id if camera_id else root).rglob("*.jpg"))


def test_long_run_stays_inside_camera_and_total_byte_budgets_deleting_oldest_first(tmp_path: Path) -> None:
    one = len(cv2.imencode(".jpg", frame("a", 0).image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1])
    settings = StorageSettings(camera_max_bytes=40 * one, max_bytes=60 * one)
    store = FootageStore(tmp_path, settings)
    for seq in range(300):
        for camera_id in ("a", "b"):
            store.write(frame(camera_id, seq))
        on_disk = sum(p.stat().st_size for p in files(tmp_path))
        assert on_disk == store.stored_bytes() <= settings.max_bytes
        assert store.stored_bytes("a") <= settings.camera_max_bytes
    kept = [int(p.stem) for p in files(tmp_path, "a")]
    assert kept == list(range(kept[0], kept[0] + 500 * len(kept), 500))  # a contiguous run of the newest frames
    assert kept[-1] == round((T0 + 299 / 2) * 1000)
    assert store.retained("a") == (kept[0] / 1000, kept[-1] / 1000)


def test_footage_older_than_max_age_is_deleted_while_writing(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings(max_age_s=30))
    now = time.time()
    for seq in range(120):  # 60 s of footage ending now
        store.write(frame("a", seq, t0=now - 60))
    span = store.retained("a")
    assert span is not None and span[0] >= now - 30 - 1 and span[1] > now - 1
    assert len(files(tmp_path, "a")) == pytest.approx(60, abs=3)


def test_restart_rebuilds_the_index_from_the_files_and_drops_torn_writes(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings())
    for seq in range(10):
        store.write(frame("a", seq))
    torn = files(tmp_path, "a")[0].with_name("123.jpg.tmp")
    torn.write_bytes(b"half")
    again = FootageStore(tmp_path, StorageSettings())
    assert again.retained("a") == store.retained("a")
    assert again.stored_bytes() == store.stored_bytes()
    assert not torn.exists()


def closest_scene_time(image: np.ndarray, times: list[float]) -> float:
    """Which scene instant a (JPEG-degraded) picture shows."""
    return min(times, key=lambda t: float(np.abs(image.astype(int) - SCENE.render(t)).mean()))


def test_snapshot_returns_the_nearest_stored_frame_or_refuses_outside_retention(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings())
    with pytest.raises(NotRetained, match=r"'a'.*no footage is stored"):
        store.snapshot("a")
    for seq in range(10):
        store.write(frame("a", seq))
    newest = cv2.imdecode(np.frombuffer(store.snapshot("a"), np.uint8), cv2.IMREAD_COLOR)
    at_2s = cv2.imdecode(np.frombuffer(store.snapshot("a", T0 + 2.1), np.uint8), cv2.IMREAD_COLOR)
    assert closest_scene_time(newest, [4.0, 4.5]) == 4.5
    assert closest_scene_time(at_2s, [1.5, 2.0, 2.5]) == 2.0
    with pytest.raises(NotRetained, match="retained from"):
        store.snapshot("a", T0 - 3600)


def test_exported_clip_decodes_to_the_expected_frame_count_and_duration(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings())
    for seq in range(40):  # 20 s at 2 fps
        store.write(frame("a", seq))
    mp4 = store.export_clip("a", T0 + 5.0, T0 + 14.9)  # frames at 5.0, 5.5, ... 14.5
    with av.open(io.BytesIO(mp4)) as clip:
        stream = clip.streams.video[0]
        decoded = [f.time for f in clip.decode(stream)]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
        assert clip.duration is not None and clip.duration / 1e6 == pytest.approx(10.0, abs=0.05)
    assert len(decoded) == 20
    assert decoded[-1] == pytest.approx(9.5)


def test_clip_ranges_inverted_too_long_or_not_retained_are_refused(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings(max_clip_s=60))
    for seq in range(4):
        store.write(frame("a", seq))
    with pytest.raises(InvalidRange, match="inverted"):
        store.export_clip("a", T0 + 2, T0 + 1)
    with pytest.raises(ClipTooLong, match="max_clip_s"):
        store.export_clip("a", T0, T0 + 61)
    with pytest.raises(NotRetained, match="retained from"):
        store.export_clip("a", T0 - 100, T0 - 50)


def test_a_frame_bigger_than_the_budget_is_refused_with_the_setting_to_change(tmp_path: Path) -> None:
    store = FootageStore(tmp_path, StorageSettings(camera_max_bytes=100))
    with pytest.raises(FootageWriteError, match="camera_max_bytes"):
        store.write(frame("a", 0))
    assert files(tmp_path) == []
