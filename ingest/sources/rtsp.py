"""RtspSource: an RTSP camera read with PyAV over TCP (or UDP), with open and read timeouts."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import av
import structlog

from config.cameras import RtspSource as RtspSettings
from config.loader import redact_url
from ingest.errors import SourceError
from ingest.sources.base import Decoded, Wanted
from ingest.sources.counters import SourceCounters
from ingest.sources.decode import PacketDecoder, live_decoded, open_video_stream, translate
from ingest.sources.timeline import MonotonicTimeline

log = structlog.get_logger(__name__)
# FFmpeg's socket timeout polls in 100 ms slices and returns at or after the timeout; a packet that took 95% of it
# came with the timeout, not with new data (a real packet that late is rare and costs one reconnect)
TIMEOUT_FRACTION = 0.95
ACTION = "the camera will be retried; check the URL, the network and that the camera is on"


class RtspSource:
    """One RTSP session. Every message carries the URL with its credentials replaced by ***."""

    def __init__(self, camera_id: str, settings: RtspSettings, counters: SourceCounters, watchdog_s: float) -> None:
        self._camera_id = camera_id
        self._settings = settings
        self._counters = counters
        # A blocked read cannot be interrupted from outside PyAV, so it may not outlast the no-frames watchdog.
        self._read_timeout_s = min(settings.read_timeout_s, watchdog_s)
        self._url = settings.url.get_secret_value()
        self.where = f"camera {camera_id!r} at {redact_url(self._url)}"
        self._container: Any = None
        self._decoder: PacketDecoder | None = None
        self._timeline = MonotonicTimeline(camera_id, self.where)

    @property
    def first_frame_timeout_s(self) -> float:
        return self._settings.open_timeout_s

    def open(self) -> None:
        options = {"rtsp_transport": self._settings.transport, "timeout": str(int(self._read_timeout_s * 1e6))}
        try:
            self._container = av.open(self._url, options=options,
                                      timeout=(self._settings.open_timeout_s, self._read_timeout_s))
            stream = open_video_stream(self._container, self.where)
        except SourceError:
            self.close()
            raise
        except (av.FFmpegError, OSError) as exc:
            self.close()
            raise (self._unresolvable() or translate(exc, self.where, ACTION)) from exc
        self._timeline = MonotonicTimeline(self._camera_id, self.where)
        self._decoder = PacketDecoder(self._container, stream, self._counters, self.where, self._timeline)
        context = stream.codec_context
        log.info("rtsp.opened", camera_id=self._camera_id, url=redact_url(self._url),
                 transport=self._settings.transport, codec=context.name, width=context.width, height=context.height)

    def _unresolvable(self) -> SourceError | None:
        """FFmpeg reports a host name that does not resolve as a bare I/O error; say what it was."""
        host = urlsplit(self._url).hostname
        if not host:
            return SourceError(f"{self.where}: the URL names no host; {ACTION}")
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError) as exc:
            return SourceError(f"{self.where}: the host name {host!r} does not resolve ({exc.args[-1]}); check the "
                               "host in the URL and the DNS settings")
        return None

    def read(self, wanted: Wanted) -> Decoded | None:
        assert self._decoder is not None, "read() before open()"
        try:
            frame = self._decoder.next(wanted)
        except StopIteration as exc:
            raise SourceError(f"{self.where}: the server ended the stream; {ACTION}") from exc
        except (av.FFmpegError, OSError) as exc:
            raise translate(exc, self.where, ACTION) from exc
        self._refuse_held_back()
        if frame is None:
            return None
        if self._decoder.draining:
            # The demuxer ended (the server closed): what the decoder still held arrived before the end, so
            # stamping it "now" would make a dead camera look live. Dropped, counted.
            self._counters.drop("flushed_after_end")
            return None
        return live_decoded(frame, self._timeline)

    def _refuse_held_back(self) -> None:
        """A packet released by the read timeout, not by new data, is what FFmpeg held back before the silence
        (a frozen server keeps its socket open): it ends the connection instead of passing for a live frame, so
        the camera is restarted one read timeout (at most watchdog_s) after its last data."""
        assert self._decoder is not None
        waited = self._decoder.waited_s
        if waited >= self._read_timeout_s * TIMEOUT_FRACTION:
            self._counters.drop("held_back_by_timeout")
            raise SourceError(f"{self.where}: no answer in time (no data for {waited:.1f} s, read timeout "
                              f"{self._read_timeout_s:g} s); {ACTION}")

    def close(self) -> None:
        container, self._container, self._decoder = self._container, None, None
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, OSError) as exc:  # closing a broken session must not mask why it broke
                log.debug("rtsp.close_failed", camera_id=self._camera_id, error=redact_url(str(exc)))
