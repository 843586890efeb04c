"""PyAV demux + decode shared by the RTSP and file sources, skipping decode of frames the sampler will not keep."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import av

from config.loader import redact_url
from ingest.errors import SourceError
from ingest.sources.base import Decoded, Image, Wanted
from ingest.sources.counters import SourceCounters
from ingest.sources.orientation import display_linear, upright
from ingest.sources.timeline import MonotonicTimeline

_ERRNO = re.compile(r"\[Errno -?\d+\] ")  # FFmpeg's error codes as errno: noise to an operator
DECODE_THREADS = 1  # one core serves many cameras; a thread pool per stream would only add contention


def open_video_stream(container: Any, where: str) -> Any:
    """The first video stream of an opened container, set up for cheap decoding."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        raise SourceError(f"{where} serves no video stream (found: {', '.join(kinds)}); point the camera at a "
                          "video stream")
    stream = container.streams.video[0]
    stream.codec_context.thread_count = DECODE_THREADS
    return stream


class PacketDecoder:
    """Turns one container's video packets into Decoded pictures, one at a time.

    Before each packet the sampler is asked whether a frame at the packet's time would be kept; if not, the
    decoder is told to skip the packet when it is a non-reference frame (FFmpeg's AVDISCARD_NONREF), which the
    codec can do without breaking later frames. Pixels are converted to BGR only for frames that are kept.
    """

    def __init__(self, container: Any, stream: Any, counters: SourceCounters, where: str,
                 timeline: MonotonicTimeline | None = None) -> None:
        self._stream = stream
        self.timeline = timeline  # maps packet times before the sampler sees them
        self._packets: Iterator[Any] = container.demux(stream)
        self._counters = counters
        self._where = where
        self._pending: deque[Any] = deque()
        self.draining = False  # True once the demuxer ended: what comes out now was buffered before the end
        self.waited_s = 0.0  # how long the demuxer blocked for the latest packet (a read timeout shows here)

    def next(self, wanted: Wanted) -> Any | None:
        """The next decoded av.VideoFrame, or None when a packet gave no picture. Raises StopIteration at the end."""
        if self._pending:
            return self._pending.popleft()
        began = time.monotonic()
        packet = next(self._packets)
        self.waited_s = time.monotonic() - began
        if packet.size == 0:  # a flush packet: drain the decoder at the end of the stream
            self.draining = True
            self._pending.extend(self._decode(packet))
            return self._pending.popleft() if self._pending else None
        self._counters.frame_in()
        skip = not packet.is_keyframe and packet.pts is not None and not wanted(self._when(packet))
        self._stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
        frames = self._decode(packet)
        if skip and not frames:
            self._counters.drop("not_decoded")
        self._pending.extend(frames)
        return self._pending.popleft() if self._pending else None

    def _when(self, packet: Any) -> float:
        raw = float(packet.pts * packet.time_base)
        return self.timeline.peek(raw) if self.timeline is not None else raw

    def _decode(self, packet: Any) -> list[Any]:
        try:
            return list(self._stream.codec_context.decode(packet))
        except av.error.InvalidDataError:
            # A corrupt packet (lost RTP data) costs that frame only; the decoder resyncs at the next keyframe.
            self._counters.drop("decode_error")
            return []


def bgr(frame: Any) -> Image:
    """The frame as [H, W, 3] uint8 BGR, turned upright as its display matrix says (ingest.sources.orientation)."""
    image: Image = frame.to_ndarray(format="bgr24")
    return upright(image, display_linear(frame))


def live_decoded(frame: Any, timeline: MonotonicTimeline | None = None) -> Decoded:
    """A frame from a live source: stamped with the time it arrived; media time made monotonic by `timeline`."""
    now_wall, now_mono = time.time(), time.monotonic()
    raw = float(frame.time) if frame.time is not None else None
    # with a timeline, a frame without a timestamp is placed one interval after the last
    t_media = timeline.place(raw) if timeline is not None else (now_mono if raw is None else raw)
    return Decoded(t_media, now_wall, now_mono, lambda: bgr(frame))


def translate(exc: Exception, where: str, action: str) -> SourceError:
    """A PyAV/OS error as a SourceError whose message says what probably happened and what to check."""
    text = _ERRNO.sub("", redact_url(str(exc)))  # FFmpeg messages quote the URL, credentials included
    for needle, meaning in _MEANINGS:
        if needle in text or needle == type(exc).__name__:
            return SourceError(f"{where}: {meaning} ({text}); {action}")
    return SourceError(f"{where}: {text}; {action}")


# Status codes are matched with their reason phrase, as FFmpeg writes them ("method DESCRIBE failed: 404 Not Found"):
# a bare "404" would also match the port in the quoted URL (rtsp://host:40457/...).
_MEANINGS: tuple[tuple[str, str], ...] = (
    ("HTTPNotFoundError", "the server has no stream at this path"),
    ("404 Not Found", "the server has no stream at this path"),
    ("HTTPUnauthorizedError", "the server refused the credentials"),
    ("401 Unauthorized", "the server refused the credentials"),
    ("ConnectionRefusedError", "nothing accepts connections at this host and port"),
    ("Connection refused", "nothing accepts connections at this host and port"),
    ("Name or service not known", "the host name does not resolve"),
    ("Temporary failure in name resolution", "the host name does not resolve"),
    ("ExitError", "no answer in time"),
    ("Immediate exit requested", "no answer in time"),
    ("TimeoutError", "no answer in time"),
    ("timed out", "no answer in time"),
    ("EOFError", "the server closed the stream"),
    ("End of file", "the server closed the stream"),
)
