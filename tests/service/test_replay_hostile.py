"""`vigil replay` over hostile recordings: a clock that resets mid-file, a file cut short behind its index."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alerts.event import AlertEvent, EventType, unix
from config.cameras import SyntheticEvent, SyntheticSource
from ingest.scene import FactoryScene
from service.replay import EXIT_PARTIAL
from tests.support.hostile_media import Picture, make_joined_ts, make_truncated_mp4
from tests.support.vigil import VIGIL, demo_config, write_config

FPS, HALF_S = 10, 20
START = "2026-11-24T08:00:00+00:00"
SCENE = SyntheticSource(seed=7, fps=FPS, events=[SyntheticEvent(kind="jam", start_s=5, duration_s=10),
                                                 SyntheticEvent(kind="person", start_s=24, duration_s=10)])


def scene_picture() -> Picture:
    painter = FactoryScene(SCENE)
    return lambda i: np.ascontiguousarray(painter.render(i / FPS))


def config(tmp_path: Path) -> Path:
    data: dict[str, Any] = demo_config(tmp_path, 8080)
    data["engine"] = {"enabled": False}
    data["rules"] = [r for r in data["rules"] if r["condition"]["type"] != "question"]
    return write_config(tmp_path, data)


def replay(video: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[AlertEvent]]:
    out = tmp_path / "alerts.jsonl"
    done = subprocess.run([str(VIGIL), "replay", str(video), "--config", str(config(tmp_path)), "--out", str(out),
                           "--start", START], capture_output=True, text=True, timeout=300)
    events = [AlertEvent.from_json(line) for line in out.read_text().splitlines()] if out.exists() else []
    return done, events


def offsets(events: list[AlertEvent], rule: str) -> list[tuple[EventType, float]]:
    t0 = datetime.fromisoformat(START).timestamp()
    return [(e.type, unix(e.ended_at or e.started_at) - t0) for e in events
            if e.rule == rule and e.type is not EventType.UPDATED]


@pytest.mark.slow
def test_a_clock_reset_mid_file_keeps_both_alerts_on_a_monotonic_timeline(tmp_path: Path) -> None:
    half = HALF_S * FPS  # the recorder's clock resets to 0 at 20 s, while the person is due at 24 s
    video = make_joined_ts(tmp_path / "reset.ts", scene_picture(), FPS, [(0, half, 0.0), (half, half, 0.0)])
    done, events = replay(video, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    jam, person = offsets(events, "conveyor_jam"), offsets(events, "person_in_zone")
    assert [t for t, _ in jam] == [EventType.STARTED, EventType.ENDED]
    assert 5 <= jam[0][1] < jam[1][1] <= 15 + 7  # the jam ends: time did not stall at the reset
    assert person and person[0][0] is EventType.STARTED and 24 <= person[0][1] <= 34  # after the reset
    assert done.stderr.count("ingest.timestamps_rebased") == 1  # warned once
    assert "timestamps jumped 1 time(s)" in done.stdout


@pytest.mark.slow
def test_a_truncated_file_is_named_in_a_warning_the_summary_and_the_exit_status(tmp_path: Path) -> None:
    video = make_truncated_mp4(tmp_path / "cut.mp4", scene_picture(), 2 * HALF_S * FPS, FPS, keep=0.5)
    done, events = replay(video, tmp_path)
    assert done.returncode == EXIT_PARTIAL, done.stderr[-3000:]
    assert "replay.truncated" in done.stderr and "Traceback" not in done.stderr
    assert "100%" not in done.stderr  # the bar stops where the data did
    line = next(x for x in done.stdout.splitlines() if x.startswith("INCOMPLETE"))
    assert "of the 40.0 s its index states" in line and "s missing" in line
    assert [t for t, _ in offsets(events, "conveyor_jam")][:1] == [EventType.STARTED]  # what was read still counts
