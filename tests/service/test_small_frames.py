"""Frames too small for the detectors (camera substreams, a 1x1 stream): replay and run carry on and say so.

These once killed the process inside OpenCV (SIGSEGV/SIGABRT, opencv#8793), taking every camera and the API
down with them. The videos are generated here; the field cases in ../shared/field-cases are replayed too when
that directory is present.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.net import free_port
from tests.support.small_media import make_small_video
from tests.support.vigil import VIGIL, demo_config, log_tail, vigil_run, write_config

pytestmark = pytest.mark.slow
FIELD_CASES = next((p / "shared" / "field-cases" for p in Path(__file__).resolve().parents
                    if (p / "shared" / "field-cases").is_dir()), Path("/nonexistent"))  # ../shared of the checkout
SIZES = [("substream.mp4", 160, 90), ("tiny.mp4", 64, 48), ("one_pixel.mkv", 1, 1)]  # odd aspects: the fuzz test
WARNING = re.compile(r"detector\.(frame_skipped|degraded)")


def detector_config(tmp_path: Path, port: int, cameras: list[dict[str, Any]]) -> Path:
    """The demo's motion and presence rules (no question rule: no model) on every camera."""
    data = demo_config(tmp_path, port, cameras=cameras)
    data["engine"]["enabled"] = False
    rules = [r for r in data["rules"] if r["condition"]["type"] in ("motion", "presence")]
    for rule in rules:
        rule["cameras"] = "all"
    data["rules"] = rules
    return write_config(tmp_path, data)


def replay(video: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = detector_config(tmp_path, 8080, [{"id": "side", "fps": 2.0, "source": {"type": "synthetic"}}])
    return subprocess.run([str(VIGIL), "replay", str(video), "--config", str(config), "--out",
                           str(tmp_path / "alerts.jsonl")], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("name", "width", "height"), SIZES)
def test_replay_of_a_too_small_video_exits_0_with_a_warning(name: str, width: int, height: int,
                                                            tmp_path: Path) -> None:
    done = replay(make_small_video(tmp_path / name, width, height, seconds=6.0), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert WARNING.search(done.stderr), done.stderr[-3000:]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["substream_160x90.mp4", "tiny_64x48.mp4", "one_pixel_1x1.mkv"])
def test_replay_of_the_field_cases_exits_0_with_a_warning(name: str, tmp_path: Path) -> None:
    if not (FIELD_CASES / name).is_file():
        pytest.skip(f"{FIELD_CASES / name} is not on this machine; the generated videos above cover the kind")
    done = replay(FIELD_CASES / name, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert WARNING.search(done.stderr), done.stderr[-3000:]


def skipped_frames(base: str, camera: str) -> float:
    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    pattern = rf'vigil_detector_frames_skipped_total\{{[^}}]*camera_id="{camera}"[^}}]*\}} ([0-9.e+]+)'
    return sum(float(v) for v in re.findall(pattern, metrics))


def newest_frame(base: str, camera: str) -> float:
    cameras = httpx.get(f"{base}/api/cameras", timeout=10).json()
    found = next(c for c in cameras if c["id"] == camera)
    return float(found["last_frame_t"] or 0.0)


def test_run_with_a_one_pixel_camera_keeps_the_healthy_camera_and_the_api(tmp_path: Path) -> None:
    port = free_port()
    video = make_small_video(tmp_path / "one_pixel.mkv", 1, 1, seconds=4.0)
    cameras = [{"id": "line1", "fps": 2.0, "source": {"type": "synthetic", "seed": 7}},
               {"id": "pixel", "fps": 2.0, "source": {"type": "file", "path": str(video), "loop": True}}]
    config = detector_config(tmp_path, port, cameras)
    with vigil_run(config, port, tmp_path / "state") as running:
        deadline = time.monotonic() + 120
        while skipped_frames(running.base, "pixel") < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert skipped_frames(running.base, "pixel") >= 4, log_tail(running.log_path)
        before = newest_frame(running.base, "line1")
        deadline = time.monotonic() + 60
        while newest_frame(running.base, "line1") <= before and time.monotonic() < deadline:
            time.sleep(0.5)
        assert newest_frame(running.base, "line1") > before  # the healthy camera still streams
        assert httpx.get(f"{running.base}/readyz", timeout=10).status_code == 200
        assert running.process.poll() is None
    assert running.exit_code == 0
    log = running.log_path.read_text(errors="replace")
    assert len(re.findall(r"detector\.frame_skipped.*pixel|pixel.*detector\.frame_skipped", log)) >= 1
