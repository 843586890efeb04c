"""Camera settings: where the video comes from and how it is sampled and supervised."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, IPvAnyAddress, SecretStr, field_validator

from config.base import FsPath, StrictModel
from config.urls import url_problem


class RtspSource(StrictModel):
    type: Literal["rtsp"] = "rtsp"
    url: SecretStr = Field(
        description="rtsp:// URL of the camera; may carry credentials, use ${VAR} to keep them out of the file"
    )
    transport: Literal["tcp", "udp"] = Field("tcp", description="RTP transport; TCP survives lossy networks")
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="seconds allowed to connect and read the first frame")
    read_timeout_s: float = Field(10.0, gt=0, le=120, description="seconds without data before a read fails")

    @field_validator("url")
    @classmethod
    def _rtsp_scheme(cls, value: SecretStr) -> SecretStr:
        problem = url_problem(value.get_secret_value(), ("rtsp", "rtsps"))
        if problem:
            raise ValueError(problem)
        return value


class FileSource(StrictModel):
    type: Literal["file"] = "file"
    path: FsPath = Field(description="local video file (any container/codec FFmpeg reads)")
    realtime: bool = Field(True, description="pace frames to the file's timestamps; false reads as fast as possible")
    loop: bool = Field(False, description="start again at the end instead of ending the stream")


class SyntheticEvent(StrictModel):
    kind: Literal["jam", "pileup", "person", "lighting", "shake"] = Field(
        description="jam: belt stops; pileup: boxes stick while the belt moves; person: someone walks into "
        "the zone; lighting: brightness drifts; shake: the camera shakes"
    )
    start_s: float = Field(ge=0, description="seconds after the stream starts (per loop, see period_s)")
    duration_s: float = Field(gt=0, description="how long the event lasts")


class SyntheticSource(StrictModel):
    type: Literal["synthetic"] = "synthetic"
    seed: int = Field(0, description="same seed, same pictures")
    width: int = Field(640, ge=64, le=3840, description="frame width in pixels")
    height: int = Field(360, ge=64, le=2160, description="frame height in pixels")
    fps: float = Field(10.0, gt=0, le=60, description="frames per second the scene is drawn at")
    belt_speed: float = Field(0.08, ge=0, le=1, description="belt speed in frame widths per second")
    period_s: float | None = Field(
        None, gt=0, description="repeat the scripted events every period_s seconds; unset plays them once"
    )
    events: list[SyntheticEvent] = Field(default_factory=list, description="scripted events with ground truth")
    realtime: bool = Field(True, description="pace frames to wall time; false generates as fast as possible")


class WebRtcSource(StrictModel):
    type: Literal["webrtc"] = "webrtc"
    ice_servers: list[str] = Field(
        default_factory=list, description="STUN/TURN URLs offered to publishers; empty works on a LAN or loopback"
    )
    ice_host_addresses: list[IPvAnyAddress] = Field(
        default_factory=list,
        description="local IP addresses offered as ICE host candidates (e.g. [127.0.0.1] for publishers on this "
        "machine, or the factory VLAN address); empty offers every non-loopback interface. Process-wide: the "
        "union over all webrtc cameras applies",
    )


Source = Annotated[RtspSource | FileSource | SyntheticSource | WebRtcSource, Field(discriminator="type")]


class Backoff(StrictModel):
    initial_s: float = Field(1.0, gt=0, le=60, description="first wait after a failure")
    max_s: float = Field(30.0, gt=0, le=600, description="cap on the wait between attempts")
    factor: float = Field(2.0, ge=1, le=10, description="growth of the wait after each failure")
    jitter: float = Field(0.2, ge=0, le=1, description="random fraction added or removed from each wait")


class CameraSettings(StrictModel):
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="stable id: lower-case letters, digits, '-' or '_' (used in Redis channels and URLs)",
    )
    name: str = Field("", description="human-readable name for the console")
    enabled: bool = Field(True, description="false keeps the camera in the config but does not connect")
    source: Source = Field(description="where frames come from: rtsp, file, synthetic or webrtc")
    fps: float = Field(2.0, gt=0, le=30, description="frames per second kept after decoding (sampling rate)")
    buffer_s: float = Field(60.0, gt=0, le=3600, description="seconds of sampled frames held in memory")
    watchdog_s: float = Field(10.0, gt=0, le=600, description="no frame for this long restarts the source")
    backoff: Backoff = Field(default_factory=Backoff, description="reconnect timing")
    footage: bool = Field(True, description="store sampled frames on disk for snapshots and clips (false: memory only)")
