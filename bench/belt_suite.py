"""The conveyor bench suite: labelled belt scenes (ingest.belt_scene) covering what the conveyor condition must
get right and what it must ignore.

Truth: a `stop` of at least REAL_STOP_S is a stopped belt to detect; shorter stops (4 s) are not events and an
alert during one is a false alarm, as is any alert on a slowed belt (25 % speed). A `pileup` is a pile-up to
detect. Nuisances: textures from strong to almost none (an empty dark belt under dimmed light), all four
diagonal directions and a horizontal belt, light steps, dimming, shake, a worker standing in front of the belt,
walkers. Speeds are pixels per second at 640 pixels wide (the held-out range, 0.3-0.9 m/s, lands at 20-90 px/s
at common camera distances).
"""

from __future__ import annotations

from ingest.belt_scene import BeltEvent, BeltSpec, Kind

REAL_STOP_S = 10.0  # stops at least this long are events; the suite's short stops last 4 s


def _ev(kind: Kind, starts: list[float], duration: float, level: float = 0.55) -> tuple[BeltEvent, ...]:
    return tuple(BeltEvent(kind, s, duration, level) for s in starts)


def suite(minutes: float = 10.0, normal_minutes: float = 15.0) -> list[tuple[str, BeltSpec]]:
    """(name, spec) pairs; `minutes` per event scene, `normal_minutes` per each of four normal-running scenes."""
    d, n = minutes * 60, normal_minutes * 60
    k = d / 600  # event times are laid out for 10 minutes and stretched to `minutes`
    return [
        ("stops, strong texture, down-right", BeltSpec(
            11, d, 45, 40, "strong", events=_ev("stop", [60 * k, 250 * k, 450 * k], 45))),
        ("stops, weak texture, up-right, light steps", BeltSpec(
            12, d, -45, 60, "weak", 4.0, events=_ev("stop", [80 * k, 300 * k, 480 * k], 30)
            + _ev("light_step", [30 * k, 200 * k, 400 * k], 20, 0.6) + _ev("light_step", [140 * k], 20, 1.3))),
        ("stops, dark belt, down-left, empty spells dimmed", BeltSpec(
            13, d, 135, 30, "dark", 3.0, events=_ev("stop", [100 * k, 400 * k], 40)
            + _ev("empty", [200 * k, 300 * k, 500 * k], 30) + _ev("dim", [180 * k, 470 * k], 90, 0.8))),
        ("stops under shake and walkers, up-left", BeltSpec(
            14, d, -135, 50, "strong", events=_ev("stop", [90 * k, 330 * k], 40)
            + _ev("shake", [80 * k, 320 * k, 520 * k], 60) + _ev("walker", [110 * k, 200 * k, 345 * k, 540 * k], 8))),
        ("pile-ups, strong texture, up-left", BeltSpec(
            15, d, -135, 45, "strong", 4.0, events=_ev("pileup", [60 * k, 260 * k, 460 * k], 40))),
        ("pile-ups, weak texture, right, worker standing", BeltSpec(
            16, d, 0, 35, "weak", 4.0, events=_ev("pileup", [90 * k, 330 * k, 500 * k], 40)
            + _ev("worker", [180 * k], 90))),
        ("pile-ups, dark belt, down-right, dimmed", BeltSpec(
            17, d, 45, 60, "dark", 3.0, events=_ev("pileup", [100 * k, 300 * k, 480 * k], 40)
            + _ev("dim", [250 * k], 150, 0.8))),
        ("slow belt (25 %) and short stops (4 s), down-left", BeltSpec(
            18, d, 135, 32, "strong", events=_ev("slow", [60 * k, 260 * k, 450 * k], 90 * k)
            + _ev("stop", [180 * k, 200 * k, 380 * k, 400 * k, 560 * k], 4))),
        ("normal running: dark belt, empty spells under dim light, right", BeltSpec(
            21, n, 0, 25, "dark", 4.0, events=_ev("empty", [120 + 180 * i for i in range(int(n // 180) - 1)], 30)
            + _ev("dim", [0], n, 0.8))),
        ("normal running: walkers, worker, light steps, down-right", BeltSpec(
            22, n, 45, 70, "weak", 4.0, events=_ev("walker", [40 + 60 * i for i in range(int(n // 60) - 1)], 8)
            + _ev("worker", [300, 600], 120) + _ev("light_step", [150 + 240 * i for i in range(int(n // 240))], 15,
                                                  0.6))),
        ("normal running: shake, dimming, up-right", BeltSpec(
            23, n, -45, 90, "strong", 6.0, events=_ev("shake", [60 + 150 * i for i in range(int(n // 150))], 40)
            + _ev("dim", [100 + 300 * i for i in range(int(n // 300))], 120, 0.5))),
        ("normal running: slow spells, short stops, up-left", BeltSpec(
            24, n, -135, 20, "strong", 5.0, events=_ev("slow", [100 + 300 * i for i in range(int(n // 300))], 60)
            + _ev("stop", [220 + 300 * i for i in range(int(n // 300))], 4))),
    ]


def truth(spec: BeltSpec, state: str) -> list[tuple[float, float]]:
    """Spans (s) the rule for `state` must detect."""
    if state == "stopped":
        return [(e.start_s, e.end_s) for e in spec.events if e.kind == "stop" and e.duration_s >= REAL_STOP_S]
    return [(e.start_s, e.end_s) for e in spec.events if e.kind == "pileup"]


def quiet(spec: BeltSpec) -> list[tuple[float, float]]:
    """Spans during which no alert of any kind may start: slowed belt, short stops."""
    return [(e.start_s, e.end_s) for e in spec.events
            if e.kind == "slow" or (e.kind == "stop" and e.duration_s < REAL_STOP_S)]


def piles(spec: BeltSpec) -> list[tuple[float, float]]:
    return [(e.start_s, e.end_s) for e in spec.events if e.kind == "pileup"]
