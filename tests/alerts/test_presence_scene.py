"""Presence on generated factory scenes with people: the feet decide, tracks make entries and dwell times.

The scene is the conveyor (ingest.scene) with figures from ingest.scene_people walking in front of a floor zone
(bodies overlapping it in the picture, feet outside) and a worker who walks into it and stands there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alerts.clock import VirtualClock
from alerts.detectors.presence import PresenceDetector
from alerts.event import AlertEvent, EventType, unix
from alerts.region import contains
from alerts.runner import RuleRunner
from config.cameras import SyntheticSource
from config.rules import PresenceCondition
from config.settings import VigilSettings
from ingest.frame import Frame
from ingest.scene import FactoryScene
from ingest.scene_people import PeopleScene, Person
from tests.alerts.conftest import T0, SceneFeed

ZONE = [(0.35, 0.74), (0.65, 0.88)]  # a floor area in front of the belt
HEIGHTS = (0.35, 0.55)  # people are 126-198 px tall on this 640x360 camera
FPS = 2.0


def worker(arrive: float, stand_s: float, x: float = 0.5) -> Person:
    """Walks in from the left for 4 s, stands in the zone for stand_s, walks out to the right for 4 s."""
    return Person(((arrive, 0.05, 0.81), (arrive + 4, x, 0.81), (arrive + 4 + stand_s, x, 0.81),
                   (arrive + 8 + stand_s, 0.95, 0.81)), 0.42)


def walkers(start: float) -> list[Person]:
    """Two people crossing in front of the zone: their bodies cover it in the picture, their feet stay below."""
    return [Person(((start, 0.0, 0.97), (start + 12, 1.0, 0.97)), 0.46, (60, 60, 140)),
            Person(((start + 14, 1.0, 0.98), (start + 26, 0.0, 0.98)), 0.47, (40, 120, 40))]


def scene(people: list[Person]) -> PeopleScene:
    return PeopleScene(FactoryScene(SyntheticSource(seed=3)).render, people)


def frames(view: PeopleScene, seconds: float) -> list[Frame]:
    return [Frame.make("floor", i, T0 + i / FPS, T0 + i / FPS, view.render(i / FPS))
            for i in range(round(seconds * FPS))]


def in_zone(x: float, y: float) -> bool:
    return contains(ZONE, x, y)


def test_walkers_overlapping_the_zone_in_the_picture_are_not_in_it() -> None:
    view = scene(walkers(1.0))
    detector = PresenceDetector(PresenceCondition(region=ZONE, person_height=HEIGHTS))
    everywhere = PresenceDetector(PresenceCondition(region=[(0, 0), (1, 1)], person_height=HEIGHTS))
    video = frames(view, 28)
    assert all(view.inside(f.t_wall - T0, in_zone) == 0 for f in video)
    assert [detector.count(f) for f in video] == [0] * len(video)
    assert sum(everywhere.count(f) >= 1 for f in video) >= 0.6 * len(video)  # they were seen, just not there


def test_a_person_entering_twice_is_two_entries_and_the_count_follows_the_truth() -> None:
    view = scene([worker(1.0, 6.0), worker(20.0, 6.0, x=0.45)])
    detector = PresenceDetector(PresenceCondition(region=ZONE, person_height=HEIGHTS))
    video = frames(view, 36)
    counts = [detector.count(f) for f in video]
    truth = [view.inside(f.t_wall - T0, in_zone) for f in video]
    assert sum(c == t for c, t in zip(counts, truth, strict=True)) >= 0.85 * len(video)
    assert detector.entries == 2


def test_dwell_counts_only_people_who_stayed() -> None:
    view = scene([worker(1.0, 10.0)])
    patient = PresenceDetector(PresenceCondition(region=ZONE, person_height=HEIGHTS, min_dwell_s=4.0))
    video = frames(view, 20)
    counts = {round(f.t_wall - T0, 1): patient.count(f) for f in video}
    assert counts[6.0] == 0  # in the zone since ~4.5 s: not yet 4 s
    assert counts[10.0] == 1 and counts[14.0] == 1
    assert patient.seen is not None and patient.seen.boxes == ()  # gone at 19.5 s


def settings(**condition: Any) -> VigilSettings:
    rule = {"id": "zone", "cameras": ["floor"], "every_s": 1, "threshold": 0.5, "clear_for_s": 2,
            "condition": {"type": "presence", "region": [list(p) for p in ZONE], "person_height": list(HEIGHTS)}
            | condition}
    return VigilSettings.model_validate({"cameras": [{"id": "floor", "source": {"type": "synthetic"}}],
                                         "rules": [rule]})


class Sink:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    async def publish(self, event: AlertEvent) -> None:
        self.events.append(event)


async def replay(view: PeopleScene, config: VigilSettings, seconds: float, tmp_path: Path) -> list[AlertEvent]:
    clock = VirtualClock(T0)
    feed = SceneFeed(view, clock, fps=FPS, camera_id="floor")  # type: ignore[arg-type]  # renders like FactoryScene
    sink = Sink()
    runner = RuleRunner(config, lambda _: feed, None, sink, tmp_path / "alerts", clock)
    await runner.start()
    try:
        await clock.run_until(T0 + seconds, sleepers=runner.schedules)
    finally:
        await runner.stop()
    return sink.events


async def test_a_worker_standing_in_the_zone_for_10_s_raises_one_alert_and_walkers_none(tmp_path: Path) -> None:
    view = scene([*walkers(1.0), worker(30.0, 10.0)])
    events = await replay(view, settings(min_dwell_s=3.0), 52.0, tmp_path)
    assert [e.type for e in events] == [EventType.STARTED, EventType.ENDED]
    started = unix(events[0].started_at) - T0
    assert 34.0 + 3.0 <= started <= 34.0 + 3.0 + 3.0  # in the zone at 34 s, counted after 3 s of dwell
    people = events[0].people
    assert people is not None and people.count == 1 and len(people.boxes) == 1
    box = people.boxes[0]
    assert in_zone((box.x0 + box.x1) / 2, box.y1) and box.dwell_s >= 3.0


async def test_min_count_two_is_not_met_by_one_worker(tmp_path: Path) -> None:
    view = scene([worker(1.0, 10.0)])
    assert await replay(view, settings(min_count=2), 20.0, tmp_path) == []
