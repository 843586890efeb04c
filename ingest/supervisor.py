"""CameraSupervisor: one camera's worker thread. Connects, streams, watches for silence, backs off, reconnects.

States and moves (ingest.status.ALLOWED):
    stopped -> connecting -> streaming <-> stalled
    connecting | streaming | stalled -> backoff -> connecting      (a failure, or the watchdog)
    any -> stopped                                                 (stop(), or a file played once ended)
The camera is `stalled` after watchdog_s * STALL_FRACTION without a frame and restarted after watchdog_s; while
stalled, its reason is restated each whole second of silence, so the status never shows a stale duration.
"""

from __future__ import annotations

import threading
import time
import traceback

import structlog

from config.cameras import CameraSettings
from config.loader import redact_url
from ingest.backoff import BackoffPolicy
from ingest.buffer import FrameBuffer
from ingest.errors import FootageError, SourceEnded, SourceError
from ingest.footage import FootageStore
from ingest.frame import Frame
from ingest.lifecycle import CameraLifecycle
from ingest.sampler import FpsSampler
from ingest.sources.base import Decoded, VideoSource
from ingest.stats import CameraCounters
from ingest.status import CameraState

log = structlog.get_logger(__name__)
STALL_FRACTION = 0.5  # silence marks a camera stalled at half the watchdog, well before it is restarted


class CameraSupervisor:
    """Owns one camera's source, sampler, and the writing end of its FrameBuffer."""

    def __init__(self, camera: CameraSettings, source: VideoSource, buffer: FrameBuffer,
                 footage: FootageStore | None, lifecycle: CameraLifecycle, counters: CameraCounters,
                 stop: threading.Event, backoff: BackoffPolicy | None = None) -> None:
        self._camera = camera
        self._source = source
        self._buffer = buffer
        self._footage = footage
        self._life = lifecycle
        self._counters = counters
        self._stop = stop
        self._backoff = backoff or BackoffPolicy(camera.backoff)
        self._thread = threading.Thread(target=self._run, name=f"ingest-{camera.id}", daemon=True)
        self._log = log.bind(camera_id=camera.id)
        self._last_frame: float | None = None  # monotonic; written by the worker, read by tick()

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the worker; False if it is still blocked in a read (it exits at the source's read timeout)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        reason = "stopped"
        try:
            reason = self._cycle()
        except Exception as exc:  # a bug here must leave a trace and a status, never a silently dead camera
            reason = f"ingest worker failed: {redact_url(repr(exc))}"
            self._log.error("camera.worker_crashed", error=reason, at=_origin(exc))
        finally:
            self._life.move(CameraState.STOPPED, reason)

    def _cycle(self) -> str:
        """Connect, stream, back off, until stopped or a finite source ends; returns why it stopped."""
        reason = "starting"
        while not self._stop.is_set():
            self._life.move(CameraState.CONNECTING, reason)
            failure, ended = self._attempt()
            if ended or self._stop.is_set():
                return failure if ended else "stopped"
            delay = self._backoff.next_delay()
            self._life.move(CameraState.BACKOFF, f"{failure}; retrying in {delay:.1f} s")
            self._stop.wait(delay)
            reason = f"reconnecting after: {failure}"
        return "stopped"

    def _attempt(self) -> tuple[str, bool]:
        """One connection, from open to failure; returns (why it ended, whether the source is finished)."""
        try:
            self._source.open()
            self._stream()
            return "stopped", False
        except SourceEnded as exc:
            if exc.ending is not None and exc.ending.truncated:
                self._log.warning("camera.file_truncated", read_s=round(exc.ending.read_s, 1),
                                  stated_s=exc.ending.stated_s, missing_s=round(exc.ending.missing_s, 1))
            return str(exc), True
        except SourceError as exc:
            return str(exc), False
        except Exception as exc:  # a third-party surprise costs this connection, not the camera
            reason = f"unexpected source error: {redact_url(repr(exc))}"
            self._log.error("camera.source_failed", error=reason, at=_origin(exc))
            return reason, False
        finally:
            self._close_source()

    def _close_source(self) -> None:
        try:
            self._source.close()
        except Exception as exc:
            self._log.warning("camera.close_failed", error=redact_url(repr(exc)), at=_origin(exc))

    def _stream(self) -> None:
        sampler = FpsSampler(self._camera.fps)
        deadline = time.monotonic() + self._source.first_frame_timeout_s
        self._last_frame = None
        while not self._stop.is_set():
            decoded = self._source.read(sampler.wants)
            now = time.monotonic()
            if decoded is None:
                self._check_silence(now, self._last_frame, deadline)
            else:
                self._last_frame = now
                self._on_frame(decoded, sampler)

    def tick(self, now: float) -> None:
        """Called about twice a second by the manager's monitor thread, so a camera whose worker is blocked in a
        read still shows `stalled` and its gauges still fall to zero."""
        self._counters.rates()
        last = self._last_frame
        silent = now - last if last is not None else 0.0
        if silent <= self._camera.watchdog_s * STALL_FRACTION:
            return
        reason = f"no frame for {int(silent)} s (the watchdog restarts the source at {self._camera.watchdog_s:g} s)"
        if not self._life.move(CameraState.STALLED, reason, only_from=CameraState.STREAMING):
            self._life.restate(CameraState.STALLED, reason)

    def _check_silence(self, now: float, last: float | None, deadline: float) -> None:
        """In the worker: no first frame in time, or the watchdog: both end this connection."""
        if last is None:
            if now > deadline:
                raise SourceError(f"camera {self._camera.id!r}: connected but no video frame within "
                                  f"{self._source.first_frame_timeout_s:g} s")
            return
        silent = now - last
        if silent > self._camera.watchdog_s:
            raise SourceError(f"camera {self._camera.id!r}: no frame for {silent:.1f} s (watchdog_s "
                              f"{self._camera.watchdog_s:g}); restarting the source")

    def _on_frame(self, decoded: Decoded, sampler: FpsSampler) -> None:
        if self._life.state is not CameraState.STREAMING:
            self._life.move(CameraState.STREAMING, "frames arriving")
            self._backoff.reset()
        if not sampler.keep(decoded.t_media):
            self._counters.drop("sampled_out")
            return
        frame = Frame.make(self._camera.id, self._buffer.next_seq, decoded.t_mono, decoded.t_wall, decoded.pixels())
        self._buffer.append(frame)
        self._counters.sampled(frame.t_wall)
        if self._footage is not None:
            self._store(frame)

    def _store(self, frame: Frame) -> None:
        assert self._footage is not None
        try:
            self._footage.write(frame)
        except FootageError as exc:  # the frame is still in the ring; only its copy on disk is missing
            self._counters.footage_error()
            self._log.warning("camera.footage_write_failed", error=str(exc))


def _origin(exc: BaseException) -> str:
    """Where an unexpected error was raised (file:line), logged instead of a traceback: third-party messages
    can quote the camera URL with its credentials."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
