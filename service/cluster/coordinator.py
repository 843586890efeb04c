"""Coordinator: keeps one node actor per live node and every camera on exactly one of them.

Every `cluster.reconcile_s` it reads the live nodes, drops the actors of dead ones, starts actors on new ones
(in the background: a model load must not delay re-placement), computes the placement (placement.py) over the
nodes whose actor is ready, and tells each node its cameras. A camera leaving a live node is stopped there
before its new owner starts it (its rule state is saved first, so the new owner sends no second `started`).
A node whose actor fails a call is treated as dead at once, so re-placement does not wait for Ray's own
health check. Runs on the front's event loop; the owner of the placement and of the members.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from config.settings import VigilSettings
from service.cluster import members as ray_side
from service.cluster import metrics
from service.cluster.members import ActorCallError, Member, call
from service.cluster.placement import Placement, PlacementError, moved, place
from service.cluster.reports import NodeReport, NodeView

log = structlog.get_logger(__name__)


class Coordinator:
    def __init__(self, settings: VigilSettings, redis_url: str) -> None:
        self.settings = settings
        self._redis_url = redis_url
        self._cameras = [c.id for c in settings.cameras if c.enabled]
        self._members: dict[str, Member] = {}
        self._starting: dict[str, asyncio.Task[None]] = {}
        self.placement = Placement()
        self.reports: dict[str, NodeReport] = {}
        self._task: asyncio.Task[None] | None = None
        self._started_at = 0.0
        self._retry_after: dict[str, float] = {}  # node -> loop time before which its actor is not restarted

    async def start(self) -> None:
        self._started_at = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._run(), name="cluster-coordinator")

    async def stop(self) -> None:
        tasks = [t for t in [self._task, *self._starting.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(self._stop_member(m) for m in list(self._members.values())))
        self._members.clear()

    def owner(self, camera_id: str) -> tuple[str, Any] | None:
        """(node id, actor handle) of the camera's owner, or None while it waits for a node."""
        node = self.placement.owners.get(camera_id)
        member = self._members.get(node) if node is not None else None
        return None if member is None or not member.ready else (member.node, member.actor)

    def nodes(self) -> list[NodeView]:
        placed = self.placement.nodes
        return [NodeView(node=m.node, weight=m.weight, ready=m.ready, placed=m.node in placed,
                         cameras=self.placement.cameras_of(m.node))
                for m in sorted(self._members.values(), key=lambda m: m.node)]

    async def _run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:  # the loop outlives any one bad round
                log.exception("cluster.reconcile_failed")
            await asyncio.sleep(self.settings.cluster.reconcile_s)

    async def reconcile(self) -> None:
        live = await asyncio.to_thread(ray_side.live_nodes, self.settings.cluster.node_resource)
        for node in [n for n in self._members if n not in live]:
            self._drop(node, "the Ray node is gone")
        now = asyncio.get_running_loop().time()
        for node, weight in live.items():
            if node not in self._members and self._retry_after.get(node, 0.0) <= now:
                self._begin(node, weight)
        ready = {n: m.weight for n, m in self._members.items() if m.ready}
        if ready and not self._first_placement_waits():
            await self._place(ready)
        await self._refresh_reports()
        self._export(ready)

    def _export(self, ready: dict[str, float]) -> None:
        metrics.NODES.labels("ready").set(len(ready))
        metrics.NODES.labels("starting").set(len(self._members) - len(ready))
        metrics.CAMERAS_UNPLACED.set(sum(self.owner(c) is None for c in self._cameras))

    def _first_placement_waits(self) -> bool:
        """The first placement waits for the nodes present at start (or their start timeout), so that cameras
        are not all started on the first node ready and then handed over as the others come up."""
        if self.placement.owners or not self._starting:
            return False
        return asyncio.get_running_loop().time() - self._started_at < self.settings.cluster.node_start_timeout_s

    # ---- members ----------------------------------------------------------------------------------------

    def _begin(self, node: str, weight: float) -> None:
        member = ray_side.spawn(self.settings, node, weight, self._redis_url)
        self._members[node] = member
        self._starting[node] = asyncio.create_task(self._await_ready(member), name=f"start-{node[:8]}")
        log.info("cluster.node_joining", node=node, weight=weight)

    async def _await_ready(self, member: Member) -> None:
        try:
            await call(member.actor.start.remote(), self.settings.cluster.node_start_timeout_s)
        except ActorCallError as exc:
            retry_s = self.settings.cluster.node_start_timeout_s / 4
            log.error("cluster.node_start_failed", node=member.node, error=str(exc),
                      action=f"its actor is dropped and started again in {retry_s:.0f} s")
            self._retry_after[member.node] = asyncio.get_running_loop().time() + retry_s
            self._starting.pop(member.node, None)
            self._drop(member.node, "its actor did not start")
            return
        member.ready = True
        self._starting.pop(member.node, None)
        log.info("cluster.node_ready", node=member.node)

    def _drop(self, node: str, reason: str) -> None:
        member = self._members.pop(node, None)
        task = self._starting.pop(node, None)
        if task is not None:
            task.cancel()
        self.reports.pop(node, None)
        if member is not None:
            metrics.NODES_LOST.inc()
            ray_side.kill(member)
            log.warning("cluster.node_lost", node=node, reason=reason,
                        cameras=self.placement.cameras_of(node))

    async def _stop_member(self, member: Member) -> None:
        """Its cameras stop (rule state saved, outbox flushed, open chunks written), then the actor ends."""
        try:
            if member.ready:
                await call(member.actor.stop.remote(), self.settings.cluster.node_start_timeout_s)
        except ActorCallError as exc:
            log.warning("cluster.node_stop_failed", node=member.node, error=f"{type(exc).__name__}: {exc}"[:300])
        ray_side.kill(member)

    # ---- placement --------------------------------------------------------------------------------------

    async def _place(self, ready: dict[str, float]) -> None:
        before = self.placement
        try:
            after = place(self._cameras, ready, before)
        except PlacementError as exc:
            log.error("cluster.placement_failed", error=str(exc))
            return
        dead = {c for c, n in before.owners.items() if n not in ready}
        changed = moved(before, after)
        if changed:
            log.info("cluster.replaced", moved={c: after.owners[c] for c in changed}, from_dead=sorted(dead))
            for camera in changed:
                metrics.CAMERAS_MOVED.labels("node_lost" if camera in dead else "node_joined").inc()
        await self._release(before, after, [c for c in changed if c not in dead])
        self.placement = after
        previous = {c: before.owners[c] for c in changed}  # where each moved camera's files are
        await asyncio.gather(*(self._assign(n, after.cameras_of(n), previous) for n in ready))

    async def _release(self, before: Placement, after: Placement, handed_over: list[str]) -> None:
        """Live nodes giving cameras away stop them first; the new owner starts them after."""
        losers = {before.owners[c] for c in handed_over}
        keep = {n: [c for c in before.cameras_of(n) if after.owners.get(c) == n] for n in losers}
        await asyncio.gather(*(self._assign(n, cams, {}) for n, cams in keep.items()))

    async def _assign(self, node: str, cameras: list[str], adopt: dict[str, str]) -> None:
        member = self._members.get(node)
        if member is None:
            return
        mine = {c: adopt[c] for c in cameras if c in adopt}
        try:
            await call(member.actor.assign.remote(cameras, mine), self.settings.cluster.node_start_timeout_s)
        except ActorCallError as exc:
            self._call_failed(node, "assign", exc)

    async def _refresh_reports(self) -> None:
        ready = [m for m in self._members.values() if m.ready]
        results = await asyncio.gather(*(self._report(m) for m in ready))
        for member, report in zip(ready, results, strict=True):
            if report is not None:
                self.reports[member.node] = report

    async def _report(self, member: Member) -> NodeReport | None:
        try:
            report: NodeReport = await call(member.actor.report.remote(), self.settings.cluster.call_timeout_s)
        except ActorCallError as exc:
            self._call_failed(member.node, "report", exc)
            return None
        return report

    def _call_failed(self, node: str, what: str, exc: BaseException) -> None:
        """A gone or stuck actor is a dead node (re-placed now); a method that raised is a bug, logged, retried."""
        if ray_side.actor_lost(exc):
            self._drop(node, f"{what} failed: {type(exc).__name__}")
        else:
            log.error("cluster.node_call_raised", node=node, call=what, error=str(exc),
                      action="kept; the call is repeated at the next round")
