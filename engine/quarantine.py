"""Chunk files that must not be loaded are moved aside with the reason, never deleted: the evidence stays.

<camera dir>/quarantine/ holds each refused file under its own name plus a timestamp, and a `.reason.txt` beside
it. The folder is bounded (MAX_FILES per camera, oldest first out, each removal logged), so a model change that
refuses a whole cache cannot fill the disk.
"""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from engine import metrics

log = structlog.get_logger(__name__)
MAX_FILES = 32  # quarantined chunk files kept per camera (a chunk of the full model is ~35 MB)
DIR_NAME = "quarantine"


def quarantine(path: Path, camera_id: str, reason: str) -> Path | None:
    """Move `path` into its directory's quarantine folder with a note of why; None if it was already gone."""
    folder = path.parent / DIR_NAME
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.name}.{time.time_ns()}"
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
    metrics.CHUNKS_QUARANTINED.labels(camera_id).inc()
    log.warning("engine.chunk_file_quarantined", camera_id=camera_id, path=str(path), moved_to=str(target),
                reason=reason)
    _bound(folder, camera_id)
    return target


def quarantined(directory: Path) -> list[Path]:
    """The quarantined chunk files of a camera directory, oldest first."""
    folder = directory / DIR_NAME
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if not p.name.endswith(".reason.txt")), key=_moved_at)


def _moved_at(path: Path) -> int:
    """The nanosecond stamp that quarantine() appends to the name (0 for a file put there by hand)."""
    stamp = path.name.rsplit(".", 1)[-1]
    return int(stamp) if stamp.isdigit() else 0


def _bound(folder: Path, camera_id: str) -> None:
    kept = quarantined(folder.parent)
    for old in kept[: max(0, len(kept) - MAX_FILES)]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".reason.txt").unlink(missing_ok=True)
        log.warning("engine.quarantine_full", camera_id=camera_id, removed=str(old), keep=MAX_FILES)
