"""Ingest CPU cost: decode-and-sample per camera, as cameras per CPU core.

For each resolution, a camera-like H.264 stream (25 fps, GOP 50, x264 zerolatency: no B-frames) is generated
once, then decoded through ingest's own path (PacketDecoder + FpsSampler, 2 fps kept, BGR conversion only for
kept frames) on one thread; the figure is media seconds per CPU second of that thread. Two reference rows show
what the savings are worth: decoding and converting every frame, and a stream with B-frames, where frames the
sampler will not keep are skipped before decoding.

With --rtsp, it also runs N real RTSP cameras (a GStreamer server on loopback, needs /usr/bin/python3 with gi)
through IngestManager for a while and reports the whole process's CPU per camera (demux, RTP, Python included).

    .venv/bin/python bench/sources.py [--seconds 20] [--rtsp 8] [--rtsp-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from config.cameras import FileSource as FileSettings
from ingest.errors import SourceEnded
from ingest.sampler import FpsSampler
from ingest.sources.file import FileSource
from ingest.stats import CameraCounters

FPS_IN, FPS_KEPT = 25, 2.0
SIZES = [(640, 360), (1280, 720)]


def make_stream(path: Path, width: int, height: int, seconds: float, bframes: int = 0) -> Path:
    """A moving conveyor-like picture with sensor noise, so the bitrate resembles a real camera's."""
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 12, (height, width, 1), dtype=np.uint8) for _ in range(8)]
    options = {"preset": "veryfast", "g": "50", "bf": str(bframes), "crf": "26"}
    if bframes == 0:
        options["tune"] = "zerolatency"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS_IN, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * FPS_IN)):
            image = np.full((height, width, 3), 90, np.uint8)
            for k in range(6):
                x = (i * width // 125 + k * width // 5) % width
                cv2.rectangle(image, (x, height // 2), (x + width // 12, height // 2 + height // 8), (40, 140, 200), -1)
            noisy = cv2.add(image, np.repeat(noise[i % 8], 3, axis=2)).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(noisy, format="bgr24")))
        out.mux(stream.encode(None))
    return path


def ingest_path_cpu(path: Path) -> tuple[float, int, int]:
    """CPU seconds of this thread to decode-and-sample the file as ingest does; (cpu, frames in, kept)."""
    counters = CameraCounters("bench")
    source = FileSource("bench", FileSettings(path=path, realtime=False), counters)
    sampler, kept = FpsSampler(FPS_KEPT), 0
    start = time.thread_time()
    source.open()
    with contextlib.suppress(SourceEnded):
        while True:
            picture = source.read(sampler.wants)
            if picture is not None and sampler.keep(picture.t_media):
                picture.pixels()
                kept += 1
    source.close()
    return time.thread_time() - start, counters.frames_in, kept


def naive_cpu(path: Path) -> float:
    """Reference: decode and convert every frame, then sample."""
    start = time.thread_time()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
    return time.thread_time() - start


def best_of(runs: int, fn: Any, *args: Any) -> Any:
    results = [fn(*args) for _ in range(runs)]
    return min(results, key=lambda r: r[0] if isinstance(r, tuple) else r)


def file_rows(seconds: float, workdir: Path) -> None:
    print(f"decode-and-sample, one thread, H.264 {FPS_IN} fps -> {FPS_KEPT:g} fps kept, {seconds:g} s of video")
    print(f"{'stream':<34}{'cpu s':>8}{'ms/s video':>12}{'cams/core':>11}{'in':>6}{'kept':>6}")
    for width, height in SIZES:
        plain = make_stream(workdir / f"{width}.mp4", width, height, seconds)
        with_b = make_stream(workdir / f"{width}b.mp4", width, height, seconds, bframes=3)
        cpu, frames_in, kept = best_of(3, ingest_path_cpu, plain)
        _row(f"{width}x{height} ingest path", cpu, seconds, frames_in, kept)
        _row(f"{width}x{height} decode+convert all", best_of(3, naive_cpu, plain), seconds, frames_in, frames_in)
        cpu, frames_in, kept = best_of(3, ingest_path_cpu, with_b)
        _row(f"{width}x{height} B-frames, ingest path", cpu, seconds, frames_in, kept)
        _row(f"{width}x{height} B-frames, decode all", best_of(3, naive_cpu, with_b), seconds, frames_in, frames_in)


def _row(name: str, cpu: float, seconds: float, frames_in: int, kept: int) -> None:
    print(f"{name:<34}{cpu:>8.2f}{1000 * cpu / seconds:>12.1f}{seconds / cpu:>11.1f}{frames_in:>6}{kept:>6}")


async def rtsp_row(cameras: int, seconds: float, workdir: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/support starts the GStreamer server
    from ingest.manager import IngestManager
    from tests.ingest.conftest import camera
    from tests.support.rtsp import RtspServer

    media = make_stream(workdir / "rtsp.mp4", 640, 360, seconds + 15)
    with RtspServer(media):
        pass  # warm the GStreamer plugin registry so the timed server starts at once
    server = RtspServer(media).start()
    settings = [camera(f"cam{i}", {"type": "rtsp", "url": server.url("/file")}, fps=FPS_KEPT) for i in range(cameras)]
    manager = IngestManager(settings, None, lambda status: None)
    try:
        manager.start()
        await asyncio.sleep(3)  # connections and the first (probing) second are not steady state
        before, wall, frames = _cpu(), time.monotonic(), _frames_in(manager, cameras)
        await asyncio.sleep(seconds)
        cpu, wall = _cpu() - before, time.monotonic() - wall
        frames = _frames_in(manager, cameras) - frames
    finally:
        await manager.stop()
        server.stop()
    per_camera = cpu / wall / cameras
    print(f"\nRTSP end to end: {cameras} cameras x 640x360 {FPS_IN} fps over loopback TCP for {wall:.0f} s, "
          f"{FPS_KEPT:g} fps kept, no footage")
    print(f"process CPU {cpu:.2f} s = {per_camera:.3f} core per camera -> {1 / per_camera:.1f} cameras per core "
          f"({frames / wall / cameras:.1f} fps in per camera)")


def _frames_in(manager: Any, cameras: int) -> int:
    return sum(manager.stats(f"cam{i}").frames_in for i in range(cameras))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of video per file measurement")
    parser.add_argument("--rtsp", type=int, default=0, help="also run this many real RTSP cameras")
    parser.add_argument("--rtsp-seconds", type=float, default=20.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        file_rows(args.seconds, Path(tmp))
        if args.rtsp:
            asyncio.run(rtsp_row(args.rtsp, args.rtsp_seconds, Path(tmp)))


if __name__ == "__main__":
    main()
