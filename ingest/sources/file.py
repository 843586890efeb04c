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
from ingest.sources.base import Decoded, FileEnding, Wanted
from ingest.sources.counters import SourceCounters
from ingest.sources.decode import PacketDecoder, bgr, open_video_stream, translate
from ingest.sources.timeline import DEFAULT_INTERVAL_S, MonotonicTimeline

ACTION = "check that the file exists and is a video FFmpeg can read"
OPEN_TIMEOUT_S = 10.0


class FileSource:
    """Frames stamped on one timeline that starts when the file is opened and continues across loops.

    The timeline is monotonic (ingest.sources.timeline): a timestamp that jumps back (a recorder's clock reset,
    two files joined) or absurdly far forward is re-based, so pacing, sampling and the rules never see time
    run backwards. A file played once that ends before its stated duration says so in its SourceEnded.
    """

    def __init__(self, camera_id: str, settings: FileSettings, counters: SourceCounters,
                 stop: threading.Event | None = None, t0_wall: float | None = None) -> None:
        self._camera_id = camera_id
        self._settings = settings
        self._counters = counters
        self._stop = stop or threading.Event()
        self._t0_wall = t0_wall
        self.where = f"camera {camera_id!r} file {settings.path}"
        self._container: Any = None
        self._decoder: PacketDecoder | None = None
        self._anchor = (0.0, 0.0)  # (wall, monotonic) of media offset 0
        self._timeline = MonotonicTimeline(camera_id, self.where)
        self._stated_s: float | None = None  # the duration the container states

    @property
    def first_frame_timeout_s(self) -> float:
        return OPEN_TIMEOUT_S

    @property
    def timeline(self) -> MonotonicTimeline:
        return self._timeline

    def open(self) -> None:
        self._open_container(None)
        self._anchor = (self._t0_wall if self._t0_wall is not None else time.time(), time.monotonic())

    def _open_container(self, timeline: MonotonicTimeline | None) -> None:
        """Open the file; a new timeline (at the stream's frame interval) unless a loop continues `timeline`."""
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
        self._timeline = timeline or MonotonicTimeline(self._camera_id, self.where, self._frame_interval_of(None))
        self._stated_s = _stated_seconds(self._container)
        self._decoder = PacketDecoder(self._container, stream, self._counters, self.where, self._timeline)

    def read(self, wanted: Wanted) -> Decoded | None:
        frame = self._next_frame(wanted)
        if frame is None:
            return None
        offset = self._timeline.place(float(frame.time) if frame.time is not None else None)
        if self._settings.realtime and not self._pace(offset):
            return None
        wall, mono = self._anchor
        return Decoded(offset, wall + offset, mono + offset, lambda: bgr(frame))

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
            ending = self._ending()
            raise SourceEnded(f"{self.where}: end of file reached (source.loop is false); {ending.describe()}", ending)
        # The next loop continues the timeline one frame interval after the last frame, so time never repeats.
        timeline = self._timeline
        self.close()
        timeline.continue_after_end()
        self._open_container(timeline)

    def _ending(self) -> FileEnding:
        last = self._timeline.last or 0.0
        return FileEnding(last, self._stated_s, self._frame_interval_of(self._container), self._timeline.jumps)

    def _frame_interval_of(self, container: Any) -> float:
        container = container or self._container
        if container is None:
            return DEFAULT_INTERVAL_S
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return 1.0 / float(rate) if rate else DEFAULT_INTERVAL_S

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
                     t0_wall: float | None = None) -> Generator[Frame, None, FileEnding | None]:
    """Sampled frames of a video file, read as fast as possible (what `vigil replay` runs the rules over).

    Frame times follow the file: t_wall = t0_wall (default: now) + seconds into the monotonic timeline. The
    generator returns how the file ended (truncation, re-based clock jumps); None only if it was closed early.
    """
    source = FileSource(camera_id, FileSettings(path=path, realtime=False, loop=False), _NoCounters(), t0_wall=t0_wall)
    sampler = FpsSampler(fps)
    source.open()
    try:
        seq = 0
        while True:
            try:
                decoded = source.read(sampler.wants)
            except SourceEnded as exc:
                return exc.ending
            if decoded is not None and sampler.keep(decoded.t_media):
                yield Frame.make(camera_id, seq, decoded.t_mono, decoded.t_wall, decoded.pixels())
                seq += 1
    finally:
        source.close()


def video_seconds(path: Path) -> float | None:
    """The file's duration from its container, when it says; None when it does not (or cannot be read)."""
    try:
        with av.open(str(path)) as container:
            return _stated_seconds(container)
    except (av.FFmpegError, OSError):
        return None


def _stated_seconds(container: Any) -> float | None:
    """The duration an opened container states (its index or header), seconds; None when it states none."""
    if container.duration:
        return float(container.duration) / av.time_base
    streams = container.streams.video
    stream = streams[0] if streams else None
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None
