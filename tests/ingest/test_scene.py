"""The synthetic factory scene: deterministic pictures whose ground truth matches what is drawn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from config.cameras import SyntheticSource
from ingest.scene import BELT_BOTTOM, BELT_TOP, FactoryScene

W, H = 320, 180


def scene(*events: tuple[str, float, float], seed: int = 3, **kw: Any) -> FactoryScene:
    listed = [{"kind": k, "start_s": s, "duration_s": d} for k, s, d in events]
    return FactoryScene(SyntheticSource(seed=seed, width=W, height=H, events=listed, **kw))  # type: ignore[arg-type]


def belt_rows(image: np.ndarray) -> np.ndarray:
    """The lower part of the belt band, below where boxes sit: only the belt texture is drawn there."""
    top, bottom = round(BELT_TOP * H), round(BELT_BOTTOM * H)
    return image[top + (bottom - top) // 2: bottom]


def test_same_seed_and_time_give_identical_bytes_from_two_instances() -> None:
    a, b = scene(("person", 1, 5)), scene(("person", 1, 5))
    for t in (0.0, 2.5, 7.3, 100.0):
        assert a.render(t).tobytes() == b.render(t).tobytes()


def test_render_order_does_not_matter() -> None:
    s = scene(("jam", 2, 3), ("pileup", 6, 4))
    forward = [s.render(t).tobytes() for t in (1.0, 4.0, 8.0)]
    backward = [s.render(t).tobytes() for t in (8.0, 4.0, 1.0)][::-1]
    assert forward == backward


def test_different_seed_gives_different_pictures() -> None:
    assert scene(seed=1).render(3.0).tobytes() != scene(seed=2).render(3.0).tobytes()


def test_frame_is_bgr_uint8_of_the_configured_size() -> None:
    image = scene().render(0.0)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8


def test_belt_moves_while_running_and_is_frozen_while_jammed() -> None:
    s = scene(("jam", 10, 5))
    assert not np.array_equal(belt_rows(s.render(5.0)), belt_rows(s.render(5.5)))
    assert s.render(11.0).tobytes() == s.render(14.5).tobytes()  # belt and boxes both stand still
    assert not np.array_equal(belt_rows(s.render(15.0)), belt_rows(s.render(15.5)))


def test_belt_travel_pauses_for_exactly_the_jam() -> None:
    s, plain = scene(("jam", 10, 5)), scene()
    assert s.belt_offset(30.0) == pytest.approx(plain.belt_offset(25.0))


def test_active_reports_events_and_repeats_them_every_period() -> None:
    s = scene(("jam", 10, 5), ("person", 12, 10), period_s=60)
    assert s.active(9.9) == frozenset()
    assert s.active(12.0) == {"jam", "person"}
    assert s.active(20.0) == {"person"}
    assert s.active(72.0) == {"jam", "person"}


def test_repeated_jams_accumulate_across_periods() -> None:
    s, plain = scene(("jam", 10, 5), period_s=60), scene()
    assert s.belt_offset(133.0) == pytest.approx(plain.belt_offset(133.0 - 13.0))  # 5 + 5 + 3 s jammed


def test_person_pixels_appear_only_while_person_is_active() -> None:
    with_person, without = scene(("person", 4, 6)), scene()
    for t in (1.0, 3.9, 4.0, 7.0, 9.9, 10.0, 15.0):
        differs = with_person.render(t).tobytes() != without.render(t).tobytes()
        assert differs == ("person" in with_person.active(t)), t


def test_pileup_keeps_the_belt_moving_but_changes_the_boxes() -> None:
    piled, plain = scene(("pileup", 5, 20)), scene()
    assert not np.array_equal(belt_rows(piled.render(20.0)), belt_rows(piled.render(20.5)))
    assert piled.render(20.0).tobytes() != plain.render(20.0).tobytes()
    assert piled.render(4.0).tobytes() == plain.render(4.0).tobytes()


def test_lighting_drift_darkens_the_frame_and_recovers() -> None:
    lit, plain = scene(("lighting", 10, 20)), scene()
    assert lit.render(20.0).mean() < 0.7 * plain.render(20.0).mean()
    assert lit.render(31.0).tobytes() == plain.render(31.0).tobytes()


def test_shake_translates_the_frame_only_while_active() -> None:
    shaken, plain = scene(("shake", 2, 3)), scene()
    moved = [shaken.render(2.0 + 0.1 * k).tobytes() != plain.render(2.0 + 0.1 * k).tobytes() for k in range(10)]
    assert sum(moved) >= 8
    assert shaken.render(6.0).tobytes() == plain.render(6.0).tobytes()
