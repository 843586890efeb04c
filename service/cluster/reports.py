"""What crosses between node actors, the coordinator and the HTTP front: frozen, picklable, Ray-free."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas import CameraView


@dataclass(frozen=True, slots=True)
class NodeReport:
    node: str  # Ray node id (hex)
    cameras: tuple[CameraView, ...]  # the single-node API's view of each camera the node runs


@dataclass(frozen=True, slots=True)
class Refusal:
    """A node's answer to a request it could not serve: the HTTP status the front returns, and why."""

    status: int
    reason: str


class ClusterCameraView(CameraView):
    """GET /api/cameras in cluster mode: the single-node view of each camera, and the node that runs it."""

    node: str | None = Field(description="Ray node id of the owner; null while the camera waits for a node")


class NodeView(BaseModel):
    """GET /api/nodes: one Vigil node of the cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: str = Field(description="Ray node id")
    weight: float = Field(description="placement weight: the node's amount of cluster.node_resource")
    ready: bool = Field(description="its actor has started its engine and takes cameras")
    placed: bool = Field(description="the current placement counts it (it is given cameras)")
    cameras: list[str] = Field(description="cameras placed on it")
