"""The conveyor detector never crashes on a frame: any size from 1x1 to 4K, odd aspect ratios, grey or colour;
a frame it cannot take is skipped and counted."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.detectors.conveyor import ConveyorDetector
from config.rules import ConveyorCondition

SIZES = [(1, 1), (2, 3), (7, 5), (15, 40), (16, 16), (31, 17), (48, 64), (90, 160), (181, 321), (360, 640),
         (1080, 1920), (2160, 3840), (20, 3840), (2160, 24), (3000, 50), (100, 1000), (999, 333)]
REGIONS = [
    [(0.1, 0.4), (0.9, 0.4), (0.9, 0.6), (0.1, 0.6)],  # a horizontal belt
    [(0.3, 0.05), (0.35, 0.0), (0.95, 0.9), (0.9, 0.95)],  # a thin diagonal one
]


def frames(h: int, w: int, rng: np.random.Generator) -> list[np.ndarray]:
    colour = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return [colour, colour[:, :, 0].copy(), colour[:, :, :1].copy(),
            np.concatenate([colour, colour[:, :, :1]], axis=2)]  # BGR, grey, [H, W, 1], BGRA


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("direction", [(1.0, 0.0), (-1.0, 1.0), (0.2, -1.0)])
def test_any_frame_size_or_layout_is_measured_or_skipped_never_a_crash(region: list[tuple[float, float]],
                                                                      direction: tuple[float, float]) -> None:
    det = ConveyorDetector(ConveyorCondition(region=region, direction=direction, state="stopped"), 1.0)
    rng = np.random.default_rng(len(region))
    t = 0.0
    for h, w in SIZES:
        for image in frames(h, w, rng) * 2:  # twice: a pair at this size
            t += 0.5
            det.feed(t, image)
            assert det.score(t) in (None, 0.0, 1.0)
    assert det.skipped >= 2 * 4 * 5  # at least the five smallest sizes cannot hold a belt


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 2), np.uint8), np.zeros((40, 40), np.float32),
                                 np.zeros(100, np.uint8), np.zeros((40, 40, 3, 1), np.uint8),
                                 np.zeros((0, 40, 3), np.uint8)])
def test_frames_of_the_wrong_shape_or_type_are_skipped_and_counted(bad: np.ndarray) -> None:
    region = [(0.1, 0.4), (0.9, 0.4), (0.9, 0.6), (0.1, 0.6)]
    det = ConveyorDetector(ConveyorCondition(region=region, direction=(1.0, 0.0), state="pileup"), 1.0)
    det.feed(1.0, bad)
    assert det.skipped == 1 and det.score(1.0) is None
