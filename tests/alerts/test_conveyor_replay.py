"""Generated conveyor clips of each kind, encoded as H.264 and replayed through `vigil replay`'s path with the
README's conveyor rules: the expected events, and nothing else."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml

from alerts.event import AlertEvent, EventType, unix
from config.settings import VigilSettings
from ingest.belt_scene import BeltEvent, BeltScene, BeltSpec
from service.replay import run_replay

README = Path(__file__).resolve().parents[2] / "README.md"
FPS = 4  # encoded; the camera samples 2 fps as in the README
T0 = 1_795_000_000.0

CLIPS: dict[str, tuple[BeltSpec, dict[str, int]]] = {
    "stop": (BeltSpec(31, 80, 45, 40, "strong", events=(BeltEvent("stop", 30, 30),)),
             {"belt-stopped": 1, "belt-pileup": 0}),
    "pileup": (BeltSpec(32, 85, -135, 45, "strong", 4.0, events=(BeltEvent("pileup", 25, 40),)),
               {"belt-stopped": 0, "belt-pileup": 1}),
    "slow belt": (BeltSpec(33, 80, 135, 32, "strong", events=(BeltEvent("slow", 25, 40),)),
                  {"belt-stopped": 0, "belt-pileup": 0}),
    "short stops": (BeltSpec(34, 80, -45, 50, "weak", events=(BeltEvent("stop", 25, 4), BeltEvent("stop", 50, 4))),
                    {"belt-stopped": 0, "belt-pileup": 0}),
    "empty dark belt, dimmed": (BeltSpec(35, 80, 0, 30, "dark", 3.0, events=(
        BeltEvent("empty", 15, 50), BeltEvent("dim", 0, 80, 0.8))), {"belt-stopped": 0, "belt-pileup": 0}),
}


def readme_rules(scene: BeltScene) -> list[dict[str, Any]]:
    """The README's conveyor rules, pointed at this scene's belt."""
    config = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)[0])
    rules = [r for r in config["rules"] if r["condition"]["type"] == "conveyor"]
    for r in rules:
        r["cameras"] = ["line1"]
        r["condition"] |= {"region": scene.region(0.05), "direction": list(scene.spec.direction)}
    return rules


def encode(path: Path, scene: BeltScene) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "g": str(FPS), "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = scene.spec.width, scene.spec.height, "yuv420p"
        for i in range(round(scene.spec.duration_s * FPS)):
            image = np.ascontiguousarray(scene.render(i / FPS))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode(None))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CLIPS))
def test_replayed_clip_gives_exactly_the_expected_alerts(kind: str, tmp_path: Path) -> None:
    spec, expected = CLIPS[kind]
    scene = BeltScene(spec)
    video = encode(tmp_path / "clip.mp4", scene)
    settings = VigilSettings.model_validate({
        "state_dir": str(tmp_path / "state"), "engine": {"enabled": False},
        "cameras": [{"id": "line1", "fps": 2, "source": {"type": "file", "path": str(video)}}],
        "rules": readme_rules(scene)})
    events, _ = asyncio.run(run_replay(settings, settings.cameras[0], video, tmp_path / "alerts.jsonl", T0))
    started = {rule: [e for e in events if e.rule == rule and e.type is EventType.STARTED] for rule in expected}
    assert {rule: len(found) for rule, found in started.items()} == expected, [e.model_dump() for e in events]
    for rule, found in started.items():
        for event in found:
            _check_figures(event, rule)
            truth = next(e for e in spec.events if e.kind in ("stop", "pileup"))
            assert truth.start_s <= _offset(event.emitted_at) <= truth.start_s + 25.0  # bench: TTD figures


def _check_figures(event: AlertEvent, rule: str) -> None:
    assert event.condition == "conveyor" and event.measured is not None
    assert event.measured["normal_speed_px_s"] > 0
    if rule == "belt-stopped":
        assert event.measured["pct_of_normal"] < 15
    else:
        assert event.measured["held_cells"] >= 2 and event.measured["pct_of_normal"] > 40


def _offset(iso_time: str) -> float:
    return unix(iso_time) - T0
