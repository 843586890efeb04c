"""A 3-node Ray cluster, 6 synthetic cameras, a real redis-server and `vigil run --cluster`; one node is killed.

Run inside a network namespace of its own by test_cluster_failover.py:
    unshare -n sh -c 'ip link set lo up && python -m tests.service.cluster.scenario OUT_DIR'
It only observes and records (OUT_DIR/report.json); the test makes the assertions. Every wait is on a
condition with a generous bound; wall times are recorded as figures, never compared.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
import yaml

from service.embedded_redis import EmbeddedRedis

T = TypeVar("T")
CAMERAS = [f"cam{i}" for i in range(6)]
JAM_S = 30.0  # the scripted jam at the start of every camera's stream: the alert opens, then ends
BOUND_S = 300.0  # generous upper bound for any one wait on a loaded 2-core machine (node start: torch import)
MB = 1024**2


def config(state: Path, redis_url: str, ray_address: str) -> dict[str, Any]:
    camera = {"fps": 2.0, "buffer_s": 30, "watchdog_s": 30}
    source = {"type": "synthetic", "width": 160, "height": 96, "fps": 4, "period_s": 3600,
              "events": [{"kind": "jam", "start_s": 0, "duration_s": JAM_S}]}
    return {
        "state_dir": str(state), "logging": {"level": "info", "format": "json"},
        "api": {"host": "127.0.0.1", "port": 0}, "redis": {"url": redis_url},
        "engine": {"model": "tiny", "fps": 1.0, "chunk_groups": 1, "window_chunks": 1, "dense_chunks": 2},
        "storage": {"max_age_s": 600},
        "cameras": [{"id": c, **camera, "source": {**source, "seed": i}} for i, c in enumerate(CAMERAS)],
        "rules": [{"id": "jam", "cameras": "all", "every_s": 1, "threshold": 0.5, "clear_below": 0.3,
                   "for_s": 2, "clear_for_s": 3, "cooldown_s": 5,
                   "condition": {"type": "motion", "region": [[0.05, 0.45], [0.95, 0.75]],
                                 "direction": [1.0, 0.0], "below": 0.02}}],
        "cluster": {"address": ray_address, "node_cpus": 0, "reconcile_s": 1.0, "shared_state": True,
                    "call_timeout_s": 5.0},
    }


def wait_for(what: str, check: Callable[[], T | None], bound_s: float = BOUND_S, every_s: float = 0.5) -> T:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        found = check()
        if found is not None and found is not False:
            return found
        time.sleep(every_s)
    raise TimeoutError(f"gave up waiting for {what} after {bound_s:.0f} s")


class Probe:
    """What the scenario reads: the front's camera list, asks, and the alert stream."""

    def __init__(self, api_url: str, redis_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=60)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)

    def cameras(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.http.get("/api/cameras").json()}

    def nodes(self) -> list[dict[str, Any]]:
        return list(self.http.get("/api/nodes").json())

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(f["event"]) for _, f in self.redis.xrange("vigil:alerts")]

    def started_for(self, camera: str) -> bool:
        return any(e["camera"] == camera and e["type"] == "started" for e in self.events())

    def ask(self, camera: str) -> dict[str, Any] | None:
        r = self.http.post(f"/api/cameras/{camera}/ask", json={"question": "Is the belt jammed?"})
        if r.status_code != 200:
            return None
        body = r.json()
        return {"node": r.headers.get("x-vigil-node"), "p_yes": body["p_yes"], "seen_start": body["seen"]["start"]}


def all_streaming(probe: Probe, nodes: int, after_t: float = 0.0) -> dict[str, dict[str, Any]] | None:
    cams = probe.cameras()
    placed = {c["node"] for c in cams.values()}
    fresh = all(c["state"] == "streaming" and (c["last_frame_t"] or 0) > after_t for c in cams.values())
    return cams if fresh and None not in placed and len(placed) == nodes else None


def scenario(out: Path, report: dict[str, Any]) -> None:
    from ray.cluster_utils import Cluster

    server = EmbeddedRedis(out / "redis", appendonly=False)
    server.start()
    report["stage"] = "redis"
    node_args = {"num_cpus": 1, "object_store_memory": 80 * MB, "resources": {"vigil_node": 1}}
    # Ray's sockets live under its temp dir: a short path of our own, removed afterwards (socket paths are short)
    temp = Path(tempfile.mkdtemp(prefix="vr-", dir="/tmp"))
    head = {**node_args, "include_dashboard": False, "temp_dir": str(temp),
            "_system_config": {"health_check_period_ms": 2000, "health_check_failure_threshold": 5}}
    try:
        cluster = Cluster(initialize_head=True, head_node_args=head)
    except BaseException:
        server.stop()
        shutil.rmtree(temp, ignore_errors=True)
        raise
    try:
        workers = [cluster.add_node(**node_args) for _ in range(2)]
        cluster.wait_for_nodes()
        report["stage"] = "ray"
        run_vigil(out, cluster, workers, server.url, report, node_args)
    finally:
        cluster.shutdown()
        server.stop()
        shutil.rmtree(temp, ignore_errors=True)


def run_vigil(out: Path, cluster: Any, workers: list[Any], redis_url: str, report: dict[str, Any],
              node_args: dict[str, Any]) -> None:
    cfg = out / "cluster.yaml"
    cfg.write_text(yaml.safe_dump(config(out / "state", redis_url, cluster.address)))
    with (out / "vigil.log").open("wb") as log:
        vigil = subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--cluster", "--config", str(cfg)],
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            runtime = out / "state" / "run" / "service.json"
            api = wait_for("the front", lambda: runtime.exists() and json.loads(runtime.read_text())["api_url"])
            probe = Probe(api, redis_url)
            observe(probe, cluster, workers, report)
            join(probe, cluster, node_args, report)
        finally:
            vigil.send_signal(signal.SIGTERM)
            try:
                report["vigil_exit"] = vigil.wait(BOUND_S)
            except subprocess.TimeoutExpired:
                vigil.kill()
                report["vigil_exit"] = vigil.wait()


def observe(probe: Probe, cluster: Any, workers: list[Any], report: dict[str, Any]) -> None:
    before = wait_for("6 cameras streaming on 3 nodes", lambda: all_streaming(probe, 3))
    report["before"] = before
    victim = workers[0].node_id
    report["victim"] = victim
    victim_cams = sorted(c for c, v in before.items() if v["node"] == victim)
    report["victim_cameras"] = victim_cams
    report["ask_before"] = {c: wait_for(f"an answer about {c}", lambda c=c: probe.ask(c)) for c in victim_cams}
    wait_for("an open alert on the victim's cameras", lambda: all(probe.started_for(c) for c in victim_cams))
    report["events_at_kill"] = len(probe.events())
    killed_wall, killed = time.time(), time.monotonic()
    cluster.remove_node(workers[0], allow_graceful=False)  # SIGKILL: the node dies, it does not leave
    report["stage"] = "killed"
    after = wait_for("the victim's cameras streaming elsewhere", lambda: all_streaming(probe, 2, killed_wall))
    report["restream_s"] = time.monotonic() - killed
    report["after"] = after
    report["ask_after"] = {c: wait_for(f"an answer about {c}", lambda c=c: probe.ask(c)) for c in victim_cams}
    report["snapshot_after"] = {c: probe.http.get(f"/api/cameras/{c}/snapshot.jpg").status_code for c in victim_cams}
    # a clip across the move: the frames before it were written by the dead owner to the shared footage store
    window = {"start": killed_wall - 6.0, "end": killed_wall + 2.0}
    clips = {c: probe.http.get(f"/api/cameras/{c}/clip.mp4", params=window) for c in victim_cams}
    report["clip_across_move"] = {c: [r.status_code, r.headers.get("content-type"), len(r.content),
                                      r.headers.get("x-vigil-node")] for c, r in clips.items()}
    report["scores_after"] = {c: probe.http.get(f"/api/cameras/{c}/scores").json() for c in victim_cams}
    wait_for("every started alert to end", lambda: _all_ended(probe.events()))
    report["events"] = probe.events()
    report["alerts_api"] = probe.http.get("/api/alerts", params={"limit": 1000}).json()["alerts"]
    report["console"] = probe.http.get("/").status_code
    report["stage"] = "done"


def join(probe: Probe, cluster: Any, node_args: dict[str, Any], report: dict[str, Any]) -> None:
    """A fresh node joins: it takes at most its quota, only from cameras that rank it first."""
    before = probe.cameras()
    report["ask_before_join"] = {c: wait_for(f"an answer about {c}", lambda c=c: probe.ask(c)) for c in before}
    node = cluster.add_node(**node_args).node_id
    report["joiner"] = node
    wait_for("the joined node placed", lambda: any(n["node"] == node and n["placed"] for n in probe.nodes()))
    placed_wall = time.time()  # the cameras it took are stopped on their old owner and started on it by now
    report["after_join"] = wait_for("every camera streaming after the join",
                                    lambda: _streaming_since(probe, placed_wall, before))
    moved = [c for c in before if report["after_join"][c]["node"] != before[c]["node"]]
    report["ask_after_join"] = {c: wait_for(f"an answer about {c}", lambda c=c: probe.ask(c)) for c in moved}
    report["events_final"] = probe.events()
    report["metrics"] = [line for line in probe.http.get("/metrics").text.splitlines()
                         if line.startswith("vigil_cluster_")]
    report["stage"] = "joined"


def _streaming_since(probe: Probe, t: float, before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    cams = probe.cameras()
    moved = [c for c in cams if cams[c]["node"] != before[c]["node"]]
    fresh = all(cams[c]["state"] == "streaming" and (cams[c]["last_frame_t"] or 0) > t for c in cams)
    return cams if fresh and all(cams[c]["node"] is not None for c in moved) else None


def _all_ended(events: list[dict[str, Any]]) -> bool:
    started = {e["id"] for e in events if e["type"] == "started"}
    ended = {e["id"] for e in events if e["type"] == "ended"}
    return bool(started) and started <= ended


def main() -> int:
    out = Path(sys.argv[1])
    report: dict[str, Any] = {"stage": "start", "pid": os.getpid()}
    try:
        scenario(out, report)
    except Exception as exc:  # recorded for the test's failure message
        report["error"] = f"{type(exc).__name__}: {exc}"
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
