"""Motion and presence detectors on the synthetic scene: what each one tells apart."""

from __future__ import annotations

from alerts.detectors.motion import MotionDetector
from config.cameras import SyntheticSource
from config.rules import MotionCondition
from ingest.frame import Frame
from ingest.scene import FactoryScene

BELT = [(0.05, 0.45), (0.95, 0.75)]


def frames(events: list[tuple[str, float, float]], t0: float, t1: float, fps: float = 2.0,
           speed: float = 0.08) -> list[Frame]:
    scene = FactoryScene(SyntheticSource(seed=11, belt_speed=speed, events=[
        {"kind": k, "start_s": s, "duration_s": d} for k, s, d in events]))  # type: ignore[misc]
    n = round((t1 - t0) * fps)
    return [Frame.make("c", i, t0 + i / fps, t0 + i / fps, scene.render(t0 + i / fps)) for i in range(n + 1)]


def energy(condition: MotionCondition, video: list[Frame]) -> float:
    detector = MotionDetector(condition, window_s=video[-1].t_wall - video[0].t_wall)
    detector.update(video)
    value = detector.energy(video[-1].t_wall)
    assert value is not None
    return value


def test_along_belt_energy_is_belt_speed_when_running_and_zero_when_jammed() -> None:
    along = MotionCondition(region=BELT, direction=(1.0, 0.0), below=0.02)
    assert abs(energy(along, frames([], 0, 4)) - 0.08) < 0.01
    assert abs(energy(along, frames([("jam", 0, 10)], 1, 5))) < 0.002


def test_stuck_boxes_on_a_moving_belt_are_not_a_stopped_belt() -> None:
    along = MotionCondition(region=BELT, direction=(1.0, 0.0), below=0.02)
    piled = energy(along, frames([("pileup", 0, 60)], 40, 44))
    assert piled > 0.05


def test_person_crossing_a_jammed_belt_keeps_it_below_the_bound() -> None:
    along = MotionCondition(region=BELT, direction=(1.0, 0.0), below=0.02)
    assert energy(along, frames([("jam", 0, 30), ("person", 2, 12)], 4, 10)) < 0.02


def test_shake_cancels_out_over_the_window() -> None:
    along = MotionCondition(region=BELT, direction=(1.0, 0.0), below=0.02)
    jam_shaken = energy(along, frames([("jam", 0, 30), ("shake", 0, 30)], 2, 12))
    assert abs(jam_shaken) < 0.01


def test_score_is_one_half_exactly_at_the_bound() -> None:
    below = MotionDetector(MotionCondition(region=BELT, below=0.02), 1.0)
    above = MotionDetector(MotionCondition(region=BELT, above=0.3), 1.0)
    assert below.score(0.02) == 0.5 and below.score(0.0) == 1.0 and below.score(0.06) == 0.25
    assert above.score(0.3) == 0.5 and above.score(0.0) == 0.0


def test_no_recent_frames_means_no_energy() -> None:
    detector = MotionDetector(MotionCondition(region=BELT, below=0.02), 2.0)
    detector.update(frames([], 0, 2))
    assert detector.energy(2.0) is not None and detector.energy(30.0) is None
