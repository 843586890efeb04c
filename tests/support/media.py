"""Generated H.264 media for tests (PyAV's bundled libx264; no ffmpeg binary needed)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from config.cameras import SyntheticSource
from ingest.scene import FactoryScene


def make_h264(path: Path, seconds: float = 4.0, fps: int = 25, width: int = 640, height: int = 360,
              gop: int = 25, bframes: int = 0) -> Path:
    """An MP4 whose frame i shows a moving disc and the number i (so tests can tell frames apart)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(gop),
                                                               "bf": str(bframes)})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(round(seconds * fps)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(numbered_picture(i, width, height), format="bgr24")))
        out.mux(stream.encode(None))
    return path


def numbered_picture(i: int, width: int, height: int) -> np.ndarray:
    image = np.full((height, width, 3), 70, np.uint8)
    cv2.circle(image, ((i * 7) % width, height // 2), height // 6, (0, 180, 255), -1)
    cv2.putText(image, str(i), (10, height - 12), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    return image


def make_scene_video(path: Path, scene: SyntheticSource, seconds: float) -> Path:
    """The synthetic conveyor (ingest.scene) as an H.264 MP4 at the scene's fps: a recorded factory camera."""
    painter = FactoryScene(scene)
    fps = round(scene.fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(fps), "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(painter.render(i / fps)), format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
