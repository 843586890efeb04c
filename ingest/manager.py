"""IngestManager: one supervised worker per enabled camera, their buffers, stats and the WHIP handler."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from config.cameras import CameraSettings
from config.cameras import WebRtcSource as WebRtcSettings
from ingest.buffer import FrameBuffer
from ingest.errors import UnknownCamera
from ingest.footage import FootageStore
from ingest.lifecycle import CameraLifecycle
from ingest.sources.factory import build_source
from ingest.sources.webrtc import WebRtcFeed
from ingest.stats import CameraCounters, IngestStats
from ingest.status import CameraState, CameraStatus
from ingest.supervisor import CameraSupervisor
from ingest.whip import WhipHandler

log = structlog.get_logger(__name__)
TICK_S = 0.5  # the monitor marks silent cameras stalled and refreshes fps gauges this often
STOP_JOIN_S = 5.0  # a worker blocked in a network read gets this long; it exits at its read timeout anyway


@dataclass
class _Camera:
    settings: CameraSettings
    buffer: FrameBuffer
    counters: CameraCounters
    lifecycle: CameraLifecycle
    stop: threading.Event
    feed: WebRtcFeed | None = None
    supervisor: CameraSupervisor | None = None


class IngestManager:
    """Cheap to build; start() spawns the workers, stop() ends them. One bad camera never affects another."""

    def __init__(self, cameras: Sequence[CameraSettings], footage: FootageStore | None,
                 on_status: Callable[[CameraStatus], None]) -> None:
        self._footage = footage
        self._cameras = {c.id: self._camera(c, on_status) for c in cameras if c.enabled}
        feeds = {cid: cam.feed for cid, cam in self._cameras.items() if cam.feed is not None}
        webrtc = {cid: c.settings.source for cid, c in self._cameras.items()
                  if isinstance(c.settings.source, WebRtcSettings)}
        self.whip = WhipHandler(webrtc, feeds)
        self._monitor_stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="ingest-monitor", daemon=True)

    @staticmethod
    def _camera(settings: CameraSettings, on_status: Callable[[CameraStatus], None]) -> _Camera:
        counters = CameraCounters(settings.id)
        capacity = max(1, math.ceil(settings.buffer_s * settings.fps))
        feed = WebRtcFeed(settings.id, counters) if isinstance(settings.source, WebRtcSettings) else None
        return _Camera(settings, FrameBuffer(settings.id, capacity), counters,
                       CameraLifecycle(settings.id, on_status), threading.Event(), feed)

    def start(self) -> None:
        """Spawn one worker per enabled camera; a camera that cannot even be set up is reported, not raised."""
        self.whip.start()
        for camera in self._cameras.values():
            try:
                self._start_camera(camera)
            except Exception as exc:  # a broken camera must not keep the others from starting
                log.exception("camera.start_failed", camera_id=camera.settings.id)
                camera.lifecycle.move(CameraState.CONNECTING, "starting")
                camera.lifecycle.move(CameraState.STOPPED, f"could not start: {exc!r}")
        self._monitor.start()
        log.info("ingest.started", cameras=len(self._cameras))

    def _start_camera(self, camera: _Camera) -> None:
        source = build_source(camera.settings, camera.counters, camera.stop, camera.feed)
        supervisor = CameraSupervisor(camera.settings, source, camera.buffer, self._footage_for(camera),
                                      camera.lifecycle, camera.counters, camera.stop)
        supervisor.start()
        camera.supervisor = supervisor  # only a started worker is ticked and joined

    def _footage_for(self, camera: _Camera) -> FootageStore | None:
        return self._footage if camera.settings.footage else None

    def _watch(self) -> None:
        while not self._monitor_stop.wait(TICK_S):
            now = time.monotonic()
            for camera in self._cameras.values():
                if camera.supervisor is not None:
                    camera.supervisor.tick(now)

    async def stop(self) -> None:
        """Hang up WebRTC publishers (on the loop), then stop every worker (off the loop)."""
        await self.whip.close()
        await asyncio.to_thread(self.stop_workers)

    def stop_workers(self, timeout_s: float = STOP_JOIN_S) -> None:
        """Stop all workers together; returns once they exit or `timeout_s` passes."""
        self._monitor_stop.set()
        supervisors = [c.supervisor for c in self._cameras.values() if c.supervisor is not None]
        for supervisor in supervisors:
            supervisor.request_stop()
        deadline = time.monotonic() + timeout_s
        stuck = [s for s in supervisors if not s.join(max(0.0, deadline - time.monotonic()))]
        if stuck:
            log.warning("ingest.workers_still_reading", count=len(stuck),
                        note="they exit when their read times out (source.read_timeout_s)")
        if self._monitor.is_alive():
            self._monitor.join(timeout_s)
        log.info("ingest.stopped")

    # ---- what the service reads ----------------------------------------------------------------------------

    def camera_ids(self) -> list[str]:
        return list(self._cameras)

    def buffer(self, camera_id: str) -> FrameBuffer:
        return self._get(camera_id).buffer

    def status(self, camera_id: str) -> CameraStatus:
        return self._get(camera_id).lifecycle.status

    def stats(self, camera_id: str) -> IngestStats:
        camera = self._get(camera_id)
        counters, status = camera.counters, camera.lifecycle.status
        input_fps, sampled_fps = counters.rates()
        return IngestStats(camera_id, status.state.value, input_fps, sampled_fps, counters.frames_in,
                           counters.frames_sampled, counters.dropped(), status.reconnects, status.stalls,
                           counters.footage_errors, counters.last_frame_t, status.reason, camera.buffer.stats())

    def _get(self, camera_id: str) -> _Camera:
        camera = self._cameras.get(camera_id)
        if camera is None:
            raise UnknownCamera(f"camera {camera_id!r} is not configured or not enabled "
                                f"(enabled: {', '.join(self._cameras) or 'none'})")
        return camera
