"""MP4 (H.264) encoding of stored frames, in memory, with each frame shown at its own time."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Sequence
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
TIME_BASE = Fraction(1, 1000)  # milliseconds: frames keep the times they were sampled at
X264_OPTIONS = {"preset": "veryfast", "crf": "23"}


def encode_mp4(times: Sequence[int], frames: Iterable[tuple[int, Image]]) -> bytes | None:
    """frames: (t_ms, [H, W, 3] BGR) in time order, decoded one at a time (a long clip never sits in memory
    whole); times: all their t_ms, for the nominal rate. Frames are scaled to the first one's (even) size.
    None when `frames` yields nothing."""
    frames = iter(frames)
    head = next(frames, None)
    if head is None:
        return None
    first_t, first = head
    height, width = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2  # yuv420p needs even dimensions
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=_rate(times), options=X264_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        for t_ms, image in itertools.chain([head], frames):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            picture = picture.reformat(width=width, height=height, format="yuv420p")
            picture.pts, picture.time_base = t_ms - first_t, TIME_BASE
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return out.getvalue()


def _rate(times: Sequence[int]) -> Fraction:
    """The clip's nominal frame rate (players show it); actual timing comes from each frame's pts."""
    if len(times) < 2 or times[-1] <= times[0]:
        return Fraction(1)
    return Fraction(round((len(times) - 1) * 1000_000 / (times[-1] - times[0])), 1000)
