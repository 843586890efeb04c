"""CPU cost of the console's live view: JPEG-encoding one camera frame for the MJPEG stream.

Each (camera, width) frame is encoded once and shared by every viewer (service/api/live.LiveJpegs), so this is
the cost per camera and sampled frame, whatever the number of viewers. Measured as process CPU time (all
threads), median of several rounds, on a textured frame (blurred noise, closer to a camera's than a flat one).

    python -m bench.live_view [--frames 60] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import numpy.typing as npt

from service.api.live import encode_jpeg

CASES = [((640, 360), None), ((1280, 720), 960), ((1920, 1080), 960), ((1920, 1080), None)]


def textured(width: int, height: int) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(0)
    image = rng.normal(120, 35, (height, width, 3)).clip(0, 255).astype(np.uint8)
    return np.asarray(cv2.GaussianBlur(image, (5, 5), 0), dtype=np.uint8)


def cpu_ms_per_frame(image: npt.NDArray[np.uint8], width: int | None, frames: int) -> float:
    encode_jpeg(image, width)  # warm-up: first use of the resize and encode paths
    start = time.process_time()
    for _ in range(frames):
        encode_jpeg(image, width)
    return (time.process_time() - start) / frames * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| camera frame | streamed width | CPU per frame (ms) | JPEG size (KiB) | one core at 2 fps |")
    print("|---|---|---|---|---|")
    for (w, h), width in CASES:
        image = textured(w, h)
        ms = statistics.median(cpu_ms_per_frame(image, width, args.frames) for _ in range(args.rounds))
        size = len(encode_jpeg(image, width)) / 1024
        print(f"| {w}x{h} | {width or w} px | {ms:.1f} | {size:.0f} | {ms * 2 / 10:.2f} % |")


if __name__ == "__main__":
    main()
