"""Joining Ray from the front's process: the only place that calls ray.init."""

from __future__ import annotations

import ray

from config.cluster import ClusterSettings
from config.errors import VigilError


class ClusterUnreachable(VigilError):
    """Ray could not be joined at cluster.address."""


def connect(settings: ClusterSettings) -> None:
    """Join the Ray cluster at settings.address ('local' starts a one-machine Ray whose node is a Vigil node)."""
    try:
        if settings.address == "local":
            ray.init(namespace=settings.namespace, include_dashboard=False,
                     resources={settings.node_resource: 1.0})
        else:
            ray.init(address=settings.address, namespace=settings.namespace)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterUnreachable(
            f"cannot join Ray at cluster.address {settings.address!r}: {exc}; start the cluster first "
            "(`ray start --head --resources='{\"" + settings.node_resource + "\": 1}'`) or set cluster.address"
        ) from exc


def disconnect() -> None:
    """Leave Ray (the actors this process owns end with it); call from the main thread."""
    ray.shutdown()
