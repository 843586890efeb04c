"""The in-memory index of stored frames (time -> file), per camera, rebuilt from file names on start."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
SUFFIX = ".jpg"


def frame_path(root: Path, camera_id: str, t_ms: int) -> Path:
    """<root>/<camera>/<UTC hour>/<t_ms>.jpg: names carry the time, so the index can be rebuilt from a listing."""
    hour = time.strftime("%Y%m%d%H", time.gmtime(t_ms / 1000))
    return root / camera_id / hour / f"{t_ms}{SUFFIX}"


@dataclass
class CameraIndex:
    """One camera's stored frames, sorted by time. Owned by FootageStore, used under its lock."""

    times: list[int] = field(default_factory=list)  # t_ms, ascending
    sizes: list[int] = field(default_factory=list)  # bytes, parallel to times
    total: int = 0

    def add(self, t_ms: int, size: int) -> None:
        at = bisect.bisect_left(self.times, t_ms)
        self.times.insert(at, t_ms)
        self.sizes.insert(at, size)
        self.total += size

    def __contains__(self, t_ms: int) -> bool:
        at = bisect.bisect_left(self.times, t_ms)
        return at < len(self.times) and self.times[at] == t_ms

    def oldest(self) -> int | None:
        return self.times[0] if self.times else None

    def pop_oldest(self) -> tuple[int, int]:
        t_ms, size = self.times.pop(0), self.sizes.pop(0)
        self.total -= size
        return t_ms, size

    def nearest(self, t_ms: int) -> int | None:
        if not self.times:
            return None
        at = bisect.bisect_left(self.times, t_ms)
        candidates = self.times[max(0, at - 1): at + 1]
        return min(candidates, key=lambda c: abs(c - t_ms))

    def between(self, t0_ms: int, t1_ms: int) -> list[int]:
        return self.times[bisect.bisect_left(self.times, t0_ms): bisect.bisect_right(self.times, t1_ms)]


def scan(root: Path) -> dict[str, CameraIndex]:
    """Index every stored frame under root; half-written files (*.tmp) from a crash are removed."""
    indexes: dict[str, CameraIndex] = {}
    if not root.is_dir():
        return indexes
    for camera_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        index = indexes.setdefault(camera_dir.name, CameraIndex())
        for path in camera_dir.glob("*/*"):
            _index_file(path, index)
    return indexes


def _index_file(path: Path, index: CameraIndex) -> None:
    if path.name.endswith(".tmp"):
        path.unlink(missing_ok=True)
        return
    if path.suffix != SUFFIX or not path.stem.isdigit():
        return
    try:
        index.add(int(path.stem), path.stat().st_size)
    except FileNotFoundError:
        log.debug("footage.vanished_while_scanning", path=str(path))
