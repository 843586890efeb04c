"""Cluster mode end to end: a real 3-node Ray cluster (own network namespace), 6 synthetic cameras, a real
redis-server, `vigil run --cluster`; one node is killed and its cameras move to the survivors.

The scenario (scenario.py) runs in `unshare -n` so Ray binds only the namespace's loopback; it records what it
saw and this test asserts on it: placement, streaming, alerts, failover, asks, a clean stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray", reason="cluster mode needs the cluster extra: pip install -e '.[cluster]'")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
SCENARIO_BOUND_S = 900  # the scenario bounds each of its waits; this only catches a hung process


def _namespace_prefix() -> list[str]:
    if os.geteuid() == 0:
        return ["unshare", "-n"]
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n", "-E", "unshare", "-n"]
    pytest.skip("a network namespace needs root (unshare -n) or password-less sudo")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cluster")
    inner = f"ip link set lo up && exec {sys.executable} -m tests.service.cluster.scenario {out}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([*_namespace_prefix(), "sh", "-c", inner], cwd=ROOT, env=env,
                               stdout=(out / "scenario.log").open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        process.wait(SCENARIO_BOUND_S)
    finally:  # whatever the scenario left behind in its session (Ray, redis-server, vigil) goes with it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    found: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert "error" not in found, f"{found['error']} at stage {found['stage']}; logs in {out}"
    return found


def test_every_camera_is_placed_and_streaming_on_three_nodes(report: dict[str, Any]) -> None:
    before = report["before"]
    assert sorted(before) == [f"cam{i}" for i in range(6)]
    assert Counter(c["node"] for c in before.values()) == Counter({n: 2 for n in {c["node"] for c in before.values()}})
    assert all(c["state"] == "streaming" and c["stats"]["frames_sampled"] > 0 for c in before.values())
    assert all(c["rules"] and c["rules"][0]["id"] == "jam" for c in before.values())


def test_alerts_flow_from_every_node_into_one_stream_and_one_api(report: dict[str, Any]) -> None:
    started_cameras = {e["camera"] for e in report["events"] if e["type"] == "started"}
    assert started_cameras == set(report["before"])
    assert sorted(e["event_id"] for e in report["alerts_api"]) == sorted(e["event_id"] for e in report["events"])
    assert report["console"] == 200


def test_only_the_dead_nodes_cameras_move_and_stream_on_the_survivors(report: dict[str, Any]) -> None:
    before, after, victim = report["before"], report["after"], report["victim"]
    assert report["victim_cameras"], "the killed node ran no camera"
    assert victim not in {c["node"] for c in after.values()}
    moved = sorted(c for c in before if before[c]["node"] != after[c]["node"])
    assert moved == report["victim_cameras"]
    assert all(c["state"] == "streaming" for c in after.values())


def test_no_second_started_and_every_ended_arrives(report: dict[str, Any]) -> None:
    events = report["events"]
    per_occurrence = Counter((e["id"], e["type"]) for e in events)
    started = [occ for (occ, kind) in per_occurrence if kind == "started"]
    assert all(per_occurrence[(occ, "started")] == 1 for occ in started)
    assert all(per_occurrence[(occ, "ended")] == 1 for occ in started)
    assert len({e["event_id"] for e in events}) == len(events)


def test_the_moved_cameras_alerts_end_on_their_new_owner(report: dict[str, Any]) -> None:
    # the alert opened before the kill; its `ended` is published after it, so by the new owner
    events, at_kill = report["events"], report["events_at_kill"]
    for camera in report["victim_cameras"]:
        kinds = [(i, e["type"]) for i, e in enumerate(events) if e["camera"] == camera]
        assert [k for _, k in kinds] == ["started", "ended"]
        assert kinds[0][0] < at_kill <= kinds[1][0]


def test_asks_and_snapshots_are_answered_by_the_new_owner(report: dict[str, Any]) -> None:
    for camera in report["victim_cameras"]:
        assert report["ask_before"][camera]["node"] == report["victim"]
        assert report["ask_after"][camera]["node"] == report["after"][camera]["node"] != report["victim"]
        assert 0.0 <= report["ask_after"][camera]["p_yes"] <= 1.0
        assert report["snapshot_after"][camera] == 200
        assert list(report["scores_after"][camera]) == ["jam"]  # the new owner's rule runner answers


def test_a_clip_spanning_the_move_is_served_by_the_new_owner_from_shared_footage(report: dict[str, Any]) -> None:
    for camera, (status, media, size, node) in report["clip_across_move"].items():
        assert (status, media, node) == (200, "video/mp4", report["after"][camera]["node"]) and size > 0


def test_the_kv_cache_moves_with_the_camera_on_shared_storage(report: dict[str, Any]) -> None:
    # the new owner's answer still sees the video from before the move: the cache came along, it did not re-warm
    for camera in report["victim_cameras"]:
        assert report["ask_after"][camera]["seen_start"] == report["ask_before"][camera]["seen_start"]
    for camera, answer in report["ask_after_join"].items():
        assert answer["node"] == report["joiner"]
        assert answer["seen_start"] == report["ask_before_join"][camera]["seen_start"]


def test_a_joining_node_takes_at_most_its_quota_and_nothing_else_moves(report: dict[str, Any]) -> None:
    before, after, joiner = report["after"], report["after_join"], report["joiner"]
    moved = [c for c in before if before[c]["node"] != after[c]["node"]]
    assert all(after[c]["node"] == joiner for c in moved)
    assert len(moved) <= 2  # quota: ceil(6 cameras / 3 nodes)
    assert all(c["state"] == "streaming" for c in after.values())


def test_no_occurrence_is_announced_twice_across_the_join(report: dict[str, Any]) -> None:
    # a camera handed over by a live node is stopped there (state saved) before the joiner starts it
    started = Counter(e["id"] for e in report["events_final"] if e["type"] == "started")
    assert started and max(started.values()) == 1


def test_front_metrics_count_the_moves(report: dict[str, Any]) -> None:
    values = dict(line.rsplit(" ", 1) for line in report["metrics"])
    lost_moves = float(values['vigil_cluster_cameras_moved_total{reason="node_lost"}'])
    assert lost_moves == len(report["victim_cameras"])
    assert float(values['vigil_cluster_nodes{state="ready"}']) == 3
    assert float(values["vigil_cluster_cameras_unplaced"]) == 0


def test_vigil_stops_cleanly(report: dict[str, Any]) -> None:
    assert report["vigil_exit"] == 0
