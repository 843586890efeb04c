"""Which node runs which camera: weighted rendezvous hashing, sticky, with a per-node quota.

Pure and deterministic: the same cameras, nodes (with weights) and previous placement always give the same
answer, in any process, because the hash is blake2b, never Python's salted `hash()`.

Ranking (weighted rendezvous / highest-random-weight hashing, Schindelhauer & Schomaker 2005, "Weighted
distributed hash tables"): camera c ranks node n by  score = -w_n / ln(u(c, n)),  u uniform in (0, 1) from a
hash of (c, n). A node of weight w wins a w/W share of cameras in expectation, and removing a node changes
no other node's rank order.

Placement rules, applied to the previous placement:
1. A camera whose owner is still alive stays, unless a node that joined since the previous placement ranks
   above its owner and that node is under its quota (then the camera moves to the joined node).
2. Every other camera (new, or its owner died) goes to its highest-ranked node under quota.
Cameras are visited in a fixed order (by their own hash). Quota of node n = ceil(N * w_n / W) for N cameras.

Consequences (bench/placement.py measures them): a death moves only the dead node's cameras; a join moves
at most the joiner's quota (ceil(N / 33) of N cameras when a 33rd equal node joins); no node exceeds its
quota after a fresh placement or a death, so max/mean load stays near 1.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_SPAN = float(2**64)


class PlacementError(ValueError):
    """Placement was asked for with no node to place on, or with a weight that is not positive."""


@dataclass(frozen=True)
class Placement:
    """A camera -> node map and the weighted node set it was computed for."""

    owners: Mapping[str, str] = field(default_factory=dict)
    nodes: Mapping[str, float] = field(default_factory=dict)

    def cameras_of(self, node: str) -> list[str]:
        return sorted(c for c, n in self.owners.items() if n == node)

    def loads(self) -> Counter[str]:
        counts: Counter[str] = Counter({n: 0 for n in self.nodes})
        counts.update(self.owners.values())
        return counts


def unit_hash(*parts: str) -> float:
    """A uniform draw in the open interval (0, 1), the same in every process."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _SPAN


def score(camera: str, node: str, weight: float) -> float:
    """Weighted rendezvous score: -w / ln(u); the highest score wins."""
    return -weight / math.log(unit_hash(camera, node))


def ranking(camera: str, nodes: Mapping[str, float]) -> list[str]:
    """Nodes from the camera's first choice to its last; ties (never seen in practice) broken by node id."""
    return sorted(nodes, key=lambda n: (-score(camera, n, nodes[n]), n))


def quotas(nodes: Mapping[str, float], n_cameras: int) -> dict[str, int]:
    """ceil(N * w / W) cameras per node: their sum is at least N, so every camera finds room."""
    total = sum(nodes.values())
    return {n: math.ceil(n_cameras * w / total) for n, w in nodes.items()}


def place(cameras: Iterable[str], nodes: Mapping[str, float], previous: Placement | None = None) -> Placement:
    """The new placement of `cameras` over the live `nodes` (id -> weight, e.g. GPUs), given the previous one."""
    _check(nodes)
    prev = previous or Placement()
    order = sorted(set(cameras), key=lambda c: (unit_hash(c), c))
    quota = quotas(nodes, len(order))
    joined = {n for n in nodes if n not in prev.nodes}
    owners: dict[str, str] = {}
    load: Counter[str] = Counter()
    for camera in order:  # rule 1: the living keep their cameras, except to a joiner ranked above them
        owner = prev.owners.get(camera)
        if owner is not None and owner in nodes:
            owners[camera] = _keep_or_join(camera, owner, nodes, joined, quota, load)
            load[owners[camera]] += 1
    for camera in order:  # rule 2: everything else to its best node with room
        if camera not in owners:
            owners[camera] = _best_with_room(camera, nodes, quota, load)
            load[owners[camera]] += 1
    return Placement(owners, dict(nodes))


def _keep_or_join(camera: str, owner: str, nodes: Mapping[str, float], joined: set[str],
                  quota: Mapping[str, int], load: Counter[str]) -> str:
    if not joined:
        return owner
    for node in ranking(camera, nodes):
        if node == owner:
            return owner
        if node in joined and load[node] < quota[node]:
            return node
    return owner


def _best_with_room(camera: str, nodes: Mapping[str, float], quota: Mapping[str, int], load: Counter[str]) -> str:
    ranked = ranking(camera, nodes)
    return next((n for n in ranked if load[n] < quota[n]), ranked[0])


def moved(before: Placement, after: Placement) -> list[str]:
    """Cameras present in both placements whose node changed."""
    return sorted(c for c, n in after.owners.items() if c in before.owners and before.owners[c] != n)


def _check(nodes: Mapping[str, float]) -> None:
    if not nodes:
        raise PlacementError("no live Vigil node to place cameras on; start at least one Ray node with the "
                             "node resource (cluster.node_resource)")
    bad = {n: w for n, w in nodes.items() if not (w > 0 and math.isfinite(w))}
    if bad:
        raise PlacementError(f"node weights must be positive and finite; got {bad}")
