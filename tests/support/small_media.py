"""Videos of the kinds real cameras' side streams produce: tiny frames, odd sizes, a single pixel.

The pictures are the synthetic conveyor with a person walking through, shrunk to the wanted size, so where a
frame is large enough a person can still be seen. H.264 needs even sides; other sizes are written as FFV1 in
Matroska (as the field case one_pixel_1x1.mkv is).
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from config.cameras import SyntheticEvent, SyntheticSource
from ingest.scene import FactoryScene


def make_small_video(path: Path, width: int, height: int, seconds: float = 12.0, fps: int = 10) -> Path:
    """The conveyor scene (a person crossing from 2 s) at width x height; .mp4 as H.264, .mkv as FFV1."""
    scene = FactoryScene(SyntheticSource(seed=7, fps=fps, events=[
        SyntheticEvent(kind="person", start_s=2.0, duration_s=8.0)]))
    h264 = path.suffix == ".mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264" if h264 else "ffv1", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if h264 else "bgr0"
        for i in range(round(seconds * fps)):
            small = cv2.resize(scene.render(i / fps), (width, height), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(small), format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
