"""Prometheus metrics of the cluster front (default registry; served at the front's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NODES = Gauge("vigil_cluster_nodes", "Vigil nodes known to the front, by state (starting, ready)", ["state"])
CAMERAS_UNPLACED = Gauge("vigil_cluster_cameras_unplaced", "Enabled cameras without a ready owner")
CAMERAS_MOVED = Counter(
    "vigil_cluster_cameras_moved_total", "Cameras moved to another node, by reason (node_lost, node_joined)",
    ["reason"],
)
NODES_LOST = Counter("vigil_cluster_nodes_lost_total", "Node actors dropped: node gone, call failed or start failed")
