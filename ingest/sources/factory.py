"""Builds the source a camera's settings ask for."""

from __future__ import annotations

import threading

from config.cameras import CameraSettings
from config.cameras import FileSource as FileSettings
from config.cameras import RtspSource as RtspSettings
from config.cameras import SyntheticSource as SyntheticSettings
from ingest.sources.base import VideoSource
from ingest.sources.counters import SourceCounters
from ingest.sources.file import FileSource
from ingest.sources.rtsp import RtspSource
from ingest.sources.synthetic import SyntheticSource
from ingest.sources.webrtc import WebRtcFeed, WebRtcSource


def build_source(camera: CameraSettings, counters: SourceCounters, stop: threading.Event,
                 feed: WebRtcFeed | None) -> VideoSource:
    settings = camera.source
    if isinstance(settings, RtspSettings):
        return RtspSource(camera.id, settings, counters, camera.watchdog_s)
    if isinstance(settings, FileSettings):
        return FileSource(camera.id, settings, counters, stop)
    if isinstance(settings, SyntheticSettings):
        return SyntheticSource(camera.id, settings, counters, stop)
    assert feed is not None, f"camera {camera.id!r}: a webrtc camera needs its feed"
    return WebRtcSource(camera.id, feed, stop, camera.watchdog_s)
