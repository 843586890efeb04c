"""`vigil replay` as a real subprocess over a recorded synthetic jam: the events, their times, bad input."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from alerts.event import AlertEvent, EventType, unix
from alerts.schema import SCHEMA_PATH
from config.cameras import SyntheticEvent, SyntheticSource
from tests.support.media import make_scene_video
from tests.support.vigil import VIGIL, demo_config, write_config

JAM_START_S, JAM_S, VIDEO_S = 8.0, 15.0, 40.0
START = "2026-11-24T08:00:00+00:00"


@pytest.fixture(scope="module")
def jam_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scene = SyntheticSource(seed=7, fps=10, events=[SyntheticEvent(kind="jam", start_s=JAM_START_S, duration_s=JAM_S)])
    return make_scene_video(tmp_path_factory.mktemp("media") / "jam.mp4", scene, VIDEO_S)


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), "replay", *args], capture_output=True, text=True, timeout=300)


def test_replay_writes_the_jam_started_and_ended_at_video_times(jam_video: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, demo_config(tmp_path, 8080))
    out = tmp_path / "alerts.jsonl"
    done = replay(str(jam_video), "--config", str(config), "--out", str(out), "--start", START)
    assert done.returncode == 0, done.stderr[-3000:]
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    lines = out.read_text().splitlines()
    for line in lines:
        jsonschema.validate(json.loads(line), schema)
    events = [AlertEvent.from_json(line) for line in lines]
    jam = [e for e in events if e.rule == "conveyor_jam"]
    assert [e.type for e in jam] == [EventType.STARTED, EventType.ENDED]
    assert jam[0].id == jam[1].id
    t0 = datetime.fromisoformat(START).timestamp()
    started, ended = unix(jam[0].started_at) - t0, unix(jam[1].ended_at or "") - t0
    every_s, window_s = 1.0, 1.0  # the rule's period; the motion score looks at the last second of frames
    assert JAM_START_S <= started <= JAM_START_S + every_s + window_s
    assert JAM_START_S + JAM_S <= ended <= JAM_START_S + JAM_S + every_s + window_s
    assert unix(jam[0].emitted_at) - unix(jam[0].started_at) == pytest.approx(5.0, abs=every_s)  # for_s
    assert "100%" in done.stderr  # the progress bar reached the end
    assert "1 alert(s) started" in done.stdout


def test_replay_runs_a_rule_of_the_named_camera_only(jam_video: Path, tmp_path: Path) -> None:
    data = demo_config(tmp_path, 8080)
    data["cameras"].append({"id": "dock", "source": {"type": "synthetic"}})
    out = tmp_path / "alerts.jsonl"
    done = replay(str(jam_video), "--config", str(write_config(tmp_path, data)), "--out", str(out),
                  "--camera", "dock")
    assert done.returncode == 0, done.stderr[-3000:]
    # conveyor_jam watches line1 only; dock has just the camera-offline rule, which needs no frames to stay quiet
    assert out.read_text() == ""


@pytest.mark.parametrize(("args", "message"), [
    (["missing.mp4"], "is not a readable video file"),
    (["{video}", "--camera", "nope"], "no enabled camera 'nope'"),
    (["{video}", "--start", "yesterday"], "is not an ISO-8601 time"),
])
def test_replay_bad_input_is_named(jam_video: Path, tmp_path: Path, args: list[str], message: str) -> None:
    config = write_config(tmp_path, demo_config(tmp_path, 8080))
    done = replay(*[a.format(video=jam_video) for a in args], "--config", str(config),
                  "--out", str(tmp_path / "a.jsonl"))
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
