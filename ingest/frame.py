"""The frozen frame that crosses from ingest to the engine, the detectors and the footage store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame. `image` is read-only [H, W, 3] uint8 in BGR order (OpenCV's)."""

    camera_id: str
    seq: int  # per camera, strictly increasing from 0 within one process lifetime
    t_mono: float  # time.monotonic() when the frame was sampled
    t_wall: float  # Unix seconds (UTC) of the frame; what users and alerts see
    image: npt.NDArray[np.uint8]

    @staticmethod
    def make(camera_id: str, seq: int, t_mono: float, t_wall: float, image: npt.NDArray[np.uint8]) -> Frame:
        """Build a frame whose pixels can no longer be written by anyone."""
        frozen = np.ascontiguousarray(image)
        frozen.flags.writeable = False
        return Frame(camera_id, seq, t_mono, t_wall, frozen)
