"""Frames kept by the intake but not yet a group (at most 3 per camera) are written at stop and taken back at start,
so a restart loses none of them. One file per camera, `<state_dir>/engine/<camera_id>/intake.npz`, written
atomically and removed once read back. Used only while the engine thread is not running (before start, after join).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from config.files import write_atomic
from engine.quarantine import quarantine

log = structlog.get_logger(__name__)
FILE_NAME = "intake.npz"
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # camera ids become directory names (as in engine.worker)

Pending = list[tuple[float, npt.NDArray[np.uint8]]]  # (Unix seconds of the frame, shrunk [h, w, 3] BGR image)


def save_pending(root: Path, camera_id: str, frames: Pending) -> None:
    """Write the camera's waiting frames; nothing when there are none or the id cannot be a directory name."""
    if not frames or not SAFE_ID.match(camera_id):
        return
    buffer = io.BytesIO()
    arrays = {f"image_{i}": image for i, (_, image) in enumerate(frames)}
    np.savez(buffer, times=np.array([t for t, _ in frames], dtype=np.float64), **arrays)  # type: ignore[arg-type]
    directory = root / camera_id
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / FILE_NAME, buffer.getvalue(), sync_dir=True)
    log.info("engine.intake_saved", camera_id=camera_id, frames=len(frames))


def load_pending(root: Path) -> dict[str, Pending]:
    """Every camera's saved frames. A file read back is removed; an unreadable one (torn, bad CRC, not an npz) is
    logged and moved to the camera's quarantine folder, and the start goes on without its frames."""
    out: dict[str, Pending] = {}
    for path in sorted(root.glob(f"*/{FILE_NAME}")) if root.is_dir() else []:
        try:
            with np.load(path) as data:
                times = data["times"]
                out[path.parent.name] = [(float(t), np.asarray(data[f"image_{i}"], np.uint8))
                                         for i, t in enumerate(times)]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("engine.intake_unreadable", path=str(path), error=str(exc), action="its frames are skipped")
            quarantine(path, path.parent.name, f"unreadable intake file: {exc}")
        path.unlink(missing_ok=True)
    return out
