"""FootageStore: sampled frames as JPEG files with a time index, kept within age and byte budgets.

Budgets (storage.max_age_s, camera_max_bytes, max_bytes) are enforced before every write, deleting the oldest
frames first, so the footage never grows past them. Thread-safe: every camera's worker writes here; snapshots
and clips are read from HTTP handler threads.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import structlog

from config.storage import StorageSettings
from ingest.clip import Image, encode_mp4
from ingest.errors import ClipTooLong, FootageWriteError, InvalidRange, NotRetained
from ingest.footage_index import CameraIndex, frame_path, scan
from ingest.frame import Frame
from ingest.metrics import FOOTAGE_BYTES, FOOTAGE_DELETED

log = structlog.get_logger(__name__)
SNAPSHOT_TOLERANCE_S = 5.0  # a snapshot "at t" may come from a stored frame at most this far from t


class FootageStore:
    def __init__(self, root: Path, settings: StorageSettings) -> None:
        self.root = root
        self._settings = settings
        self._lock = threading.Lock()  # guards the index and every file operation that changes the budgets
        self._indexes: dict[str, CameraIndex] | None = None  # loaded from disk on first use

    # ---- writing ---------------------------------------------------------------------------------------

    def write(self, frame: Frame) -> None:
        """Store one sampled frame (blocking file I/O: call from a worker thread, never the event loop)."""
        jpeg = self._encode(frame)
        t_ms = round(frame.t_wall * 1000)
        with self._lock:
            index = self._index(frame.camera_id)
            if t_ms in index:
                return  # the same millisecond twice (a replayed file): the first copy stands
            self._expire(max(time.time(), frame.t_wall))
            self._make_room(frame.camera_id, len(jpeg))
            self._put(frame_path(self.root, frame.camera_id, t_ms), jpeg, frame.camera_id)
            index.add(t_ms, len(jpeg))
            FOOTAGE_BYTES.labels(camera_id=frame.camera_id).set(index.total)

    def _encode(self, frame: Frame) -> bytes:
        ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self._settings.jpeg_quality])
        if not ok:
            raise FootageWriteError(f"camera {frame.camera_id!r}: frame {frame.seq} could not be JPEG-encoded")
        jpeg = bytes(buf)
        limit = min(self._settings.camera_max_bytes, self._settings.max_bytes)
        if len(jpeg) > limit:
            raise FootageWriteError(f"camera {frame.camera_id!r}: one frame ({len(jpeg)} bytes) exceeds the footage "
                                    f"budget ({limit} bytes); raise storage.camera_max_bytes / storage.max_bytes")
        return jpeg

    def _put(self, path: Path, data: bytes, camera_id: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)  # readers see a whole file or none
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FootageWriteError(f"camera {camera_id!r}: cannot write {path}: {exc.strerror}; check the disk "
                                    "and the permissions of the state directory") from exc

    def _expire(self, now: float) -> None:
        cutoff = round((now - self._settings.max_age_s) * 1000)
        for camera_id, index in self._loaded().items():
            while (oldest := index.oldest()) is not None and oldest < cutoff:
                self._delete_oldest(camera_id, "age")

    def _make_room(self, camera_id: str, size: int) -> None:
        index = self._index(camera_id)
        while index.times and index.total + size > self._settings.camera_max_bytes:
            self._delete_oldest(camera_id, "camera_bytes")
        while self._total() + size > self._settings.max_bytes:
            self._delete_oldest(self._globally_oldest(), "total_bytes")

    def _total(self) -> int:
        return sum(index.total for index in self._loaded().values())

    def _globally_oldest(self) -> str:
        stored = [(index.times[0], cam) for cam, index in self._loaded().items() if index.times]
        return min(stored)[1]

    def _delete_oldest(self, camera_id: str, reason: str) -> None:
        index = self._index(camera_id)
        t_ms = index.oldest()
        if t_ms is None:
            return
        path = frame_path(self.root, camera_id, t_ms)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # kept in the index (its bytes still count); the write that needed room fails
            raise FootageWriteError(f"camera {camera_id!r}: cannot delete old footage {path}: {exc.strerror}; "
                                    "check the disk and the permissions of the state directory") from exc
        index.pop_oldest()
        following = index.oldest()
        if following is None or frame_path(self.root, camera_id, following).parent != path.parent:
            _remove_empty(path.parent)
        FOOTAGE_DELETED.labels(camera_id=camera_id, reason=reason).inc()
        FOOTAGE_BYTES.labels(camera_id=camera_id).set(index.total)

    # ---- reading -------------------------------------------------------------------------------------------

    def retained(self, camera_id: str) -> tuple[float, float] | None:
        """(oldest, newest) stored frame times in Unix seconds, or None when nothing is stored."""
        with self._lock:
            times = self._index(camera_id).times
            return (times[0] / 1000, times[-1] / 1000) if times else None

    def frame_times(self, camera_id: str, t0: float, t1: float) -> list[float]:
        """Unix seconds of every stored frame in [t0, t1], ascending (the footage timeline's coverage)."""
        with self._lock:
            times = self._index(camera_id).between(math.floor(t0 * 1000), math.ceil(t1 * 1000))
        return [t / 1000 for t in times]

    def stored_bytes(self, camera_id: str | None = None) -> int:
        with self._lock:
            return self._index(camera_id).total if camera_id is not None else self._total()

    def snapshot(self, camera_id: str, t_wall: float | None = None) -> bytes:
        """The stored JPEG nearest to t_wall (None: the newest)."""
        with self._lock:
            index = self._index(camera_id)
            if t_wall is None:
                t_ms = index.times[-1] if index.times else None
            else:
                t_ms = index.nearest(round(t_wall * 1000)) if math.isfinite(t_wall) else None
        if t_ms is None or (t_wall is not None and abs(t_ms / 1000 - t_wall) > SNAPSHOT_TOLERANCE_S):
            raise NotRetained(self._not_retained(camera_id, "a snapshot", t_wall))
        try:
            return frame_path(self.root, camera_id, t_ms).read_bytes()
        except FileNotFoundError as exc:  # deleted by retention between the lookup and the read
            raise NotRetained(self._not_retained(camera_id, "a snapshot", t_wall)) from exc

    def export_clip(self, camera_id: str, t0: float, t1: float) -> bytes:
        """MP4 (H.264) of the stored frames in [t0, t1]; a range only partly retained gives the retained part."""
        self._check_range(camera_id, t0, t1)
        with self._lock:
            times = self._index(camera_id).between(math.floor(t0 * 1000), math.ceil(t1 * 1000))
        frames = (f for f in (self._load(camera_id, t) for t in times) if f is not None)
        clip = encode_mp4(times, frames)
        if clip is None:
            raise NotRetained(self._not_retained(camera_id, f"a clip from {t0:.3f} to {t1:.3f}", None))
        return clip

    def _check_range(self, camera_id: str, t0: float, t1: float) -> None:
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            raise InvalidRange(f"camera {camera_id!r}: clip range {t0} .. {t1} is inverted, empty or not finite; "
                               "give start < end in Unix seconds")
        if t1 - t0 > self._settings.max_clip_s:
            raise ClipTooLong(f"camera {camera_id!r}: a clip of {t1 - t0:.1f} s is longer than storage.max_clip_s "
                              f"({self._settings.max_clip_s:g} s); ask for a shorter range")

    def _load(self, camera_id: str, t_ms: int) -> tuple[int, Image] | None:
        try:
            data = frame_path(self.root, camera_id, t_ms).read_bytes()
        except FileNotFoundError:
            return None  # expired while the clip was being cut
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return (t_ms, np.asarray(image, dtype=np.uint8)) if image is not None else None

    def _not_retained(self, camera_id: str, what: str, t_wall: float | None) -> str:
        span = self.retained(camera_id)
        at = f" at {t_wall:.3f}" if t_wall is not None else ""
        held = f"footage is retained from {span[0]:.3f} to {span[1]:.3f}" if span else "no footage is stored"
        return f"camera {camera_id!r}: no footage for {what}{at}; {held} (storage.max_age_s / max_bytes limit it)"

    # ---- index ---------------------------------------------------------------------------------------------

    def _loaded(self) -> dict[str, CameraIndex]:
        if self._indexes is None:
            self._indexes = scan(self.root)
            log.info("footage.indexed", root=str(self.root), cameras=len(self._indexes),
                     frames=sum(len(i.times) for i in self._indexes.values()), bytes=self._total())
        return self._indexes

    def _index(self, camera_id: str) -> CameraIndex:
        return self._loaded().setdefault(camera_id, CameraIndex())


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (a frame of that hour is still kept) or already gone
        directory.rmdir()
