"""The Ray side of the coordinator: which nodes are alive, and one VigilNode actor per node (ray imported here)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from config.cluster import ClusterSettings
from config.settings import VigilSettings
from service.cluster.node import VigilNode

ActorCallError = (RayError, TimeoutError)  # a call that failed: the actor is gone or stuck, or the method raised


def actor_lost(exc: BaseException) -> bool:
    """True when the call failed because the actor (or its node) is gone or stuck, not because its method raised."""
    return not isinstance(exc, RayTaskError)


def live_nodes(resource: str) -> dict[str, float]:
    """Alive Ray nodes that carry `resource`, as node id -> amount (the placement weight). Blocking (GCS call)."""
    found = {}
    for node in ray.nodes():  # type: ignore[no-untyped-call]
        amount = float(node.get("Resources", {}).get(resource, 0.0))
        if node.get("Alive") and amount > 0:
            found[str(node["NodeID"])] = amount
    return found


@dataclass
class Member:
    """A node actor from its creation on; `ready` once its engine started."""

    node: str
    weight: float
    actor: Any  # ray.actor.ActorHandle[VigilNode]: Ray ships no type for it
    ready: bool = False


def spawn(settings: VigilSettings, node: str, weight: float, redis_url: str) -> Member:
    """Create the node's actor, pinned to it (never moved elsewhere, never restarted: the coordinator re-places)."""
    c: ClusterSettings = settings.cluster
    actor_class = ray.remote(VigilNode)
    actor = actor_class.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
        num_cpus=c.node_cpus, num_gpus=c.node_gpus, max_restarts=0, max_concurrency=64,
    ).remote(settings, node, redis_url)
    return Member(node, weight, actor)


async def call(ref: Any, timeout_s: float) -> Any:
    """Await one actor call's result without blocking the event loop; raises RayError or TimeoutError."""
    return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout_s)


def kill(member: Member) -> None:
    with contextlib.suppress(RayError, ValueError):  # already gone with its node
        ray.kill(member.actor, no_restart=True)
