"""Presence on real footage (vtest.avi) and on generated factory scenes: counts against a hand count, CPU cost.

    python bench/presence.py [--video /usr/share/doc/opencv-doc/examples/data/vtest.avi]

CPU is process CPU time (every thread OpenCV uses counts), not wall time: the figure is a budget on a shared
machine. Recall is the share of hand-counted people the detector counted, frame by frame (min(counted, hand) /
hand, summed over the hand-counted frames); "within 1" is the number of those frames whose count is within one
of the hand count. The hand counts are tests/alerts/data/vtest_people_counts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.detectors.presence import PresenceDetector  # noqa: E402
from config.rules import PresenceCondition  # noqa: E402
from ingest.frame import Frame  # noqa: E402
from ingest.sources.file import open_file_frames  # noqa: E402

COUNTS = ROOT / "tests" / "alerts" / "data" / "vtest_people_counts.json"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PAVEMENT = [(0.0, 0.33), (0.40, 0.36), (0.72, 0.17), (0.95, 0.15), (1.0, 0.35), (1.0, 0.85), (0.43, 0.52),
            (0.0, 0.41)]
FPS = 2.0


def run(frames: list[Frame], condition: PresenceCondition) -> tuple[dict[int, int], float, PresenceDetector]:
    """Counts by frame number (10 fps file), CPU seconds per sampled frame, and the detector afterwards."""
    detector = PresenceDetector(condition)
    start = time.process_time()
    counts = {round(f.t_wall * 10): detector.count(f) for f in frames}
    return counts, (time.process_time() - start) / len(frames), detector


def against_hand(counts: dict[int, int]) -> tuple[float, int, int]:
    hand = {int(k): v for k, v in json.loads(COUNTS.read_text())["counts"].items()}
    seen = {i: counts[max(k for k in counts if k <= i)] for i in hand}
    recall = sum(min(seen[i], n) for i, n in hand.items()) / sum(hand.values())
    return recall, sum(abs(seen[i] - n) <= 1 for i, n in hand.items()), len(hand)


def vtest(video: Path) -> None:
    frames = list(open_file_frames(video, FPS, "plaza", t0_wall=0.0))
    ground = [(x, y) for x, y in json.loads(COUNTS.read_text())["zone"]]
    for name, condition in [("hand-count zone, automatic person height", PresenceCondition(region=ground)),
                            ("pavement polygon, automatic", PresenceCondition(region=PAVEMENT)),
                            ("hand-count zone, person_height [0.1, 0.3]",
                             PresenceCondition(region=ground, person_height=(0.1, 0.3)))]:
        counts, cpu, detector = run(frames, condition)
        held = sum(c >= 1 for c in counts.values()) / len(counts)
        versus = ""
        if condition.region == ground:
            recall, close, n = against_hand(counts)
            versus = f"recall {recall:.2f}; within 1 of the hand count on {close}/{n} frames; "
        print(f"vtest.avi {name}: {cpu * 1e3:.0f} ms CPU per sampled frame = {cpu * FPS:.0%} of a core at "
              f"{FPS:g} fps; {versus}>=1 person on {held:.0%} of frames; {detector.entries} entries "
              "(about 20 people walk through)")


def scenes() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.alerts.test_presence_scene import HEIGHTS, ZONE, frames, scene, walkers, worker

    condition = PresenceCondition(region=ZONE, person_height=HEIGHTS, min_dwell_s=3.0)
    visits = [scene([worker(1.0 + k, 10.0, x=0.4 + 0.1 * k)]) for k in range(3)]
    found = 0
    start, n = time.process_time(), 0
    for view in visits:
        video = frames(view, 24)
        detector = PresenceDetector(condition)
        found += any(detector.count(f) >= 1 for f in video)
        n += len(video)
    passers = frames(scene(walkers(1.0)), 28)
    detector = PresenceDetector(condition)
    false = sum(detector.count(f) >= 1 for f in passers)
    cpu = (time.process_time() - start) / (n + len(passers))
    print(f"factory scene 640x360, person_height {list(HEIGHTS)}: {found}/{len(visits)} zone visits found; "
          f"{false}/{len(passers)} frames with a walker counted in the zone; "
          f"{cpu * 1e3:.0f} ms CPU per frame (rendering included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VTEST)
    args = parser.parse_args()
    vtest(args.video)
    scenes()


if __name__ == "__main__":
    main()
