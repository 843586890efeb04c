"""Every detector takes any frame without crashing: what it cannot use is skipped, counted and warned about once.

OpenCV aborts the process on some inputs (opencv#8793), so a crash here kills pytest itself: the fuzz test's
passing is the proof that no size reaches OpenCV unchecked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.detectors.frames import FRAMES_SKIPPED, FrameNeeds, check_frame
from alerts.detectors.motion import MotionDetector
from alerts.detectors.presence import PresenceDetector
from config.rules import MotionCondition, PresenceCondition
from ingest.frame import Frame

ZONE = [(0.2, 0.3), (0.8, 0.9)]


def noise(height: int, width: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def feed(frames: list[npt.NDArray[np.uint8]], camera: str) -> tuple[MotionDetector, PresenceDetector]:
    motion = MotionDetector(MotionCondition(region=ZONE, below=0.02), window_s=2.0)
    presence = PresenceDetector(PresenceCondition(region=ZONE))
    video = [Frame.make(camera, i, i / 2, i / 2, image) for i, image in enumerate(frames)]
    motion.update(video)
    presence.score(video)
    return motion, presence


def skipped(camera: str, detector: str, reason: str) -> float:
    return FRAMES_SKIPPED.labels(camera, detector, reason)._value.get()


# Sizes from 1 px to 4K on each side, drawn log-uniformly so tiny, odd and huge frames all come up.
sides = st.floats(0, np.log(4096)).map(lambda v: max(1, round(float(np.exp(v)))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(height=sides, width=sides)
def test_any_frame_size_is_scanned_or_skipped_never_a_crash(height: int, width: int) -> None:
    if height * width > 3840 * 2160:
        height = max(1, 3840 * 2160 // width)
    motion, presence = feed([noise(height, width, 0), noise(height, width, 1)], f"fuzz-{width}x{height}")
    for detector in (motion, presence):
        assert detector.status == "ok" or detector.status.startswith("skipped: ")
    aspect = max(width / height, height / width)
    if aspect > 8 or min(width, height) < 16:  # nothing to measure motion on: both frames refused
        assert motion.status.startswith("skipped: ") and motion.energy(1.0) is None


@pytest.mark.parametrize(("height", "width"), [(1, 1), (48, 64), (90, 160), (1, 3840), (2160, 1), (2160, 3840),
                                                (576, 768), (7, 4000), (129, 65)])
def test_field_sizes_and_extremes(height: int, width: int) -> None:
    motion, presence = feed([noise(height, width, 0), noise(height, width, 1)], f"edge-{width}x{height}")
    too_small_for_people = (width, height) in ((1, 1), (64, 48), (3840, 1), (1, 2160), (4000, 7))
    assert presence.status.startswith("skipped: ") == too_small_for_people
    assert (presence.score([]) is None) == too_small_for_people  # no frame scanned: no score, not a 0
    flow_possible = min(width, height) >= 16 and max(width / height, height / width) <= 8
    assert (motion.status == "ok") == flow_possible


@pytest.mark.parametrize(("image", "reason"), [
    (np.zeros((100, 100, 3), np.float32), "dtype"),
    (np.zeros((100, 100), np.uint8), "channels"),
    (np.zeros((100, 100, 4), np.uint8), "channels"),
    (np.zeros((100, 100, 3, 1), np.uint8), "channels"),
    (np.zeros((0, 100, 3), np.uint8), "too_small"),
    (np.zeros((100, 2000, 3), np.uint8), "aspect"),
    ([[1, 2, 3]], "type"),
])
def test_wrong_frames_are_named(image: object, reason: str) -> None:
    problem = check_frame(image, FrameNeeds(16, 16))
    assert problem is not None and problem.reason == reason


def test_bad_frames_are_counted_each_time_and_warned_about_once_per_camera() -> None:
    camera = "warn-once"
    tiny = [np.zeros((1, 1, 3), np.uint8)] * 4
    with structlog.testing.capture_logs() as logs:
        feed(tiny, camera)
        feed(tiny, camera)  # another rule on the same camera: still counted, not warned again
        feed(tiny, "other-camera")
    assert skipped(camera, "presence", "too_small") == 8 and skipped(camera, "motion", "too_small") == 8
    warned = [(e["camera_id"], e["detector"]) for e in logs if e["event"] == "detector.frame_skipped"]
    assert sorted(warned) == sorted([(camera, "motion"), (camera, "presence"), ("other-camera", "motion"),
                                     ("other-camera", "presence")])


def test_a_wrong_dtype_frame_among_good_ones_is_skipped_and_the_rest_are_used() -> None:
    good = [np.full((360, 640, 3), 90, np.uint8)] * 3
    bad = np.zeros((360, 640, 3), np.uint16)
    video = [Frame("mixed", i, i / 2, i / 2, image) for i, image in enumerate([*good[:2], bad, good[2]])]
    detector = PresenceDetector(PresenceCondition(region=ZONE, person_height=(0.4, 0.6)))
    assert detector.score(video) == 0.0  # the empty floor scanned, the uint16 frame skipped
    assert skipped("mixed", "presence", "dtype") == 1 and detector.status == "ok"
