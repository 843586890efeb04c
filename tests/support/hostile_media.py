"""Generators of the broken media cameras and recorders produce (PyAV + libx264, no ffmpeg binary needed).

Each builds one kind of trouble from a picture function, so a test can make the whole kind, not one file:
clocks that reset or leap (MPEG-TS segments joined byte-wise), files cut short behind a complete index, and
pictures stored sideways with a display matrix that says how to turn them upright.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

Picture = Callable[[int], np.ndarray]  # frame index -> [H, W, 3] uint8 BGR


def encode_ts(picture: Picture, frames: range, fps: int, start_s: float = 0.0) -> bytes:
    """An MPEG-TS of `picture(i)` for i in `frames`; the first frame's PTS is `start_s` (a recorder's clock)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(fps), "bf": "0"})
        first = picture(frames[0])
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        base = round(start_s * fps)
        for n, i in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture(i)), format="bgr24")
            frame.pts, frame.time_base = base + n, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def make_joined_ts(path: Path, picture: Picture, fps: int, segments: Sequence[tuple[int, int, float]]) -> Path:
    """Segments (first frame, frame count, clock at their start in s) encoded alone and joined byte-wise.

    [(0, 300, 0.0), (300, 300, 0.0)]: the second half restarts at PTS 0 (a clock reset); a start of 3600.0
    instead is a clock leaping an hour ahead.
    """
    path.write_bytes(b"".join(encode_ts(picture, range(first, first + count), fps, start)
                              for first, count, start in segments))
    return path


def make_truncated_mp4(path: Path, picture: Picture, frames: int, fps: int, keep: float = 0.5) -> Path:
    """An MP4 with its index at the front (faststart) whose bytes stop at `keep` of the file: the index promises
    every frame, the data holds about `keep` of them (a copy or a recording cut off mid-way)."""
    full = path.with_suffix(".full.mp4")
    with av.open(str(full), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(fps), "bf": "0"})
        stream.height, stream.width = picture(0).shape[:2]
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(picture(i)), format="bgr24")))
        out.mux(stream.encode(None))
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_rotated_mp4(path: Path, upright: Picture, frames: int, fps: int, degrees: int,
                     hflip: bool = False) -> Path:
    """An MP4 storing `upright` pictures the way a sideways (and perhaps mirrored) camera records them, with the
    display matrix that shows them upright again: turn counter-clockwise by `degrees`, then mirror left-right
    when `hflip` (PyAV's `set_display_rotation` semantics)."""
    def stored(i: int) -> np.ndarray:
        picture = upright(i)[:, ::-1] if hflip else upright(i)
        return np.ascontiguousarray(np.rot90(picture, k=-(degrees // 90)))

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "bf": "0"})
        stream.height, stream.width = stored(0).shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(degrees, hflip=hflip)
        for i in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(stored(i), format="bgr24")))
        out.mux(stream.encode(None))
    return path


def marker_picture(width: int = 160, height: int = 96) -> Picture:
    """A picture whose top-left corner is white, its top-right corner mid grey and the rest dark grey: which way is
    up, and whether it is mirrored, is plain to see."""
    def draw(i: int) -> np.ndarray:
        image = np.full((height, width, 3), 40, np.uint8)
        image[: height // 3, : width // 3] = 255
        image[: height // 3, -(width // 3):] = 150
        image[-4:, (i * 3) % width] = 128  # a moving speck, so frames differ
        return image
    return draw
