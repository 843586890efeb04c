"""FileSource: a local video file, paced to real time or read as fast as possible, once or looped."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import av

from config.cameras import FileSource as FileSettings
from ingest.errors import SourceEnded, SourceError
from ingest.frame import Frame
from ingest.sampler import FpsSampler
from ingest.sources.base import Decoded, Wanted
from ingest.sources.counters import SourceCounters
from ingest.sources.decode import PacketDecoder, bgr, open_video_stream, translate

ACTION = "check that the file exists and is a video FFmpeg can read"
OPEN_TIMEOUT_S = 10.0


class FileSource:
    """Frames stamped on one timeline that starts when the file is opened and continues across loops."""

    def __init__(self, camera_id: str, settings: FileSettings, counters: SourceCounters,
                 stop: threading.Event | None = None, t0_wall: float | None = None) -> None:
        self._settings = settings
        self._counters = counters
        self._stop = stop or threading.Event()
        self._t0_wall = t0_wall
        self.where = f"camera {camera_id!r} file {settings.path}"
        self._container: Any = None
        self._decoder: PacketDecoder | None = None
        self._anchor = (0.0, 0.0)  # (wall, monotonic) of media offset 0
        self._first: float | None = None  # media time of the file's first frame
        self._offset = 0.0  # media seconds of the loops already played
        self._last = 0.0  # offset of the newest frame

    @property
    def first_frame_timeout_s(self) -> float:
        return OPEN_TIMEOUT_S

    def open(self) -> None:
        self._open_container()
        self._anchor = (self._t0_wall if self._t0_wall is not None else time.time(), time.monotonic())
        self._first, self._offset, self._last = None, 0.0, 0.0

    def _open_container(self) -> None:
        if not self._settings.path.is_file():
            raise SourceError(f"{self.where}: no such file; {ACTION}")
        try:
            self._container = av.open(str(self._settings.path))
            stream = open_video_stream(self._container, self.where)
        except SourceError:
            self.close()
            raise
        except (av.FFmpegError, OSError) as exc:
            self.close()
            raise translate(exc, self.where, ACTION) from exc
        self._decoder = PacketDecoder(self._container, stream, self._counters, self.where)

    def read(self, wanted: Wanted) -> Decoded | None:
        frame = self._next_frame(lambda t: self._first is None or wanted(self._position(t)))
        if frame is None:
            return None
        if self._first is None:  # the first picture, not the first packet: B-frames reorder packets
            self._first = float(frame.time or 0.0)
        offset = self._position(float(frame.time or 0.0))
        self._last = max(self._last, offset)
        if self._settings.realtime and not self._pace(offset):
            return None
        wall, mono = self._anchor
        return Decoded(offset, wall + offset, mono + offset, lambda: bgr(frame))

    def _position(self, t: float) -> float:
        assert self._first is not None
        return self._offset + t - self._first

    def _next_frame(self, wanted: Wanted) -> Any | None:
        assert self._decoder is not None, "read() before open()"
        try:
            return self._decoder.next(wanted)
        except StopIteration:
            self._rewind()
            return None
        except (av.FFmpegError, OSError) as exc:
            raise translate(exc, self.where, ACTION) from exc

    def _rewind(self) -> None:
        if not self._settings.loop:
            raise SourceEnded(f"{self.where}: end of file reached (source.loop is false)")
        # The next loop continues the timeline one frame interval after the last frame, so time never repeats.
        self.close()
        self._open_container()
        self._offset, self._first = self._last + self._frame_interval(), None

    def _frame_interval(self) -> float:
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return 1.0 / float(rate) if rate else 0.04

    def _pace(self, offset: float) -> bool:
        """Wait until the frame's time comes; False when stopping."""
        delay = self._anchor[1] + offset - time.monotonic()
        return delay <= 0 or not self._stop.wait(delay)

    def close(self) -> None:
        container, self._container, self._decoder = self._container, None, None
        if container is not None:
            container.close()


class _NoCounters:
    def frame_in(self) -> None:
        pass

    def drop(self, reason: str, count: int = 1) -> None:
        pass


def open_file_frames(path: Path, fps: float, camera_id: str = "replay",
                     t0_wall: float | None = None) -> Generator[Frame, None, None]:
    """Sampled frames of a video file, read as fast as possible (what `vigil replay` runs the rules over).

    Frame times follow the file: t_wall = t0_wall (default: now) + seconds into the file.
    """
    source = FileSource(camera_id, FileSettings(path=path, realtime=False, loop=False), _NoCounters(), t0_wall=t0_wall)
    sampler = FpsSampler(fps)
    source.open()
    try:
        seq = 0
        while True:
            try:
                decoded = source.read(sampler.wants)
            except SourceEnded:
                return
            if decoded is not None and sampler.keep(decoded.t_media):
                yield Frame.make(camera_id, seq, decoded.t_mono, decoded.t_wall, decoded.pixels())
                seq += 1
    finally:
        source.close()


def video_seconds(path: Path) -> float | None:
    """The file's duration from its container, when it says; None when it does not (or cannot be read)."""
    try:
        with av.open(str(path)) as container:
            if container.duration:
                return float(container.duration) / av.time_base
            stream = container.streams.video[0]
            return float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    except (av.FFmpegError, IndexError):
        return None
