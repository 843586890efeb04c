"""What crosses between node actors, the coordinator and the HTTP front: frozen, picklable, Ray-free."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class CameraReport:
    """One camera as its owning node sees it."""

    camera_id: str
    state: str  # ingest's CameraState value: connecting, streaming, stalled, backoff, stopped
    frames_sampled: int
    sampled_fps: float
    last_frame_t: float | None  # Unix seconds of the newest sampled frame
    engine_lag_s: float | None  # None when the engine is disabled or has not seen the camera yet
    kv_tokens: int


@dataclass(frozen=True, slots=True)
class NodeReport:
    node: str  # Ray node id (hex)
    cameras: tuple[CameraReport, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A node's answer to a request it could not serve: the HTTP status the front returns, and why."""

    status: int
    reason: str


class ClusterCameraView(BaseModel):
    """GET /api/cameras in cluster mode: every configured camera with the node that runs it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="camera id")
    name: str = Field(description="human-readable name")
    node: str | None = Field(description="Ray node id of the owner; null while the camera waits for a node")
    state: str = Field(description="ingest state on the owner, or 'unplaced'")
    frames_sampled: int = Field(description="frames kept since the owner started the camera")
    sampled_fps: float = Field(description="sampled frames per second, recent")
    last_frame_t: float | None = Field(description="Unix seconds of the newest sampled frame")
    engine_lag_s: float | None = Field(description="engine lag behind the stream, seconds")
    kv_tokens: int = Field(description="tokens in the camera's KV cache on its owner")
