"""Cluster-mode settings: where Ray is, what marks a machine as a Vigil node, how placement reacts.

Read only by `vigil run --cluster` (service/cluster); the single-machine service ignores this section.
"""

from __future__ import annotations

from pydantic import Field

from config.base import StrictModel


class ClusterSettings(StrictModel):
    address: str = Field(
        "auto", description="Ray address: 'auto' joins the Ray cluster this machine belongs to (KubeRay head), "
        "host:port names a GCS, 'local' starts a one-machine Ray for trying cluster mode out"
    )
    namespace: str = Field("vigil", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Ray namespace of the actors")
    node_resource: str = Field(
        "vigil_node", pattern=r"^[A-Za-z0-9_]{1,64}$",
        description="custom Ray resource that marks a machine as a Vigil node (rayStartParams resources); its "
        "amount is the node's placement weight, e.g. 2 on a machine with two GPUs"
    )
    node_cpus: float = Field(1.0, ge=0, le=1024, description="CPUs each node actor reserves")
    node_gpus: float = Field(0.0, ge=0, le=64, description="GPUs each node actor reserves (1 on GPU workers)")
    reconcile_s: float = Field(
        2.0, gt=0, le=60, description="how often the coordinator compares live nodes with the placement"
    )
    node_start_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="how long a node actor may take to load the model and start"
    )
    call_timeout_s: float = Field(
        15.0, gt=0, le=600, description="timeout of one coordinator call to a node actor (status, assign)"
    )
    shared_state: bool = Field(
        False, description="state_dir is on storage every node mounts (NFS, CephFS, a ReadWriteMany volume): KV "
        "caches, footage and outboxes move with their camera; otherwise a moved camera's cache re-warms"
    )
