"""Placement policy: deterministic, balanced, and moving only what must move."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.cluster.placement import Placement, PlacementError, moved, place, quotas, ranking

CAMS = [f"cam-{i:03d}" for i in range(200)]
NODES = {f"n{j}": 1.0 for j in range(8)}


def test_same_inputs_give_the_same_placement_in_another_process() -> None:
    here = place(CAMS, NODES).owners
    code = ("from service.cluster.placement import place;"
            f"p = place({CAMS!r}, {NODES!r}); print(sorted(p.owners.items()))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert there.strip() == str(sorted(here.items()))


def test_fresh_placement_keeps_every_node_within_its_quota() -> None:
    p = place(CAMS, NODES)
    assert set(p.owners) == set(CAMS)
    assert max(p.loads().values()) <= quotas(NODES, len(CAMS))["n0"] == 25


def test_weights_give_proportional_shares() -> None:
    p = place(CAMS, {"big": 3.0, "small": 1.0})
    assert p.loads() == {"big": 150, "small": 50}


def test_a_death_moves_only_the_dead_nodes_cameras() -> None:
    before = place(CAMS, NODES)
    survivors = {n: w for n, w in NODES.items() if n != "n3"}
    after = place(CAMS, survivors, before)
    assert moved(before, after) == before.cameras_of("n3")
    assert "n3" not in after.owners.values()


def test_a_join_moves_cameras_only_to_the_joiner_and_at_most_its_quota() -> None:
    before = place(CAMS, NODES)
    grown = {**NODES, "n8": 1.0}
    after = place(CAMS, grown, before)
    changed = moved(before, after)
    assert changed and all(after.owners[c] == "n8" for c in changed)
    assert len(changed) <= quotas(grown, len(CAMS))["n8"] <= len(CAMS) / len(NODES)


def test_placement_is_stable_when_nothing_changes() -> None:
    before = place(CAMS, NODES)
    assert moved(before, place(CAMS, NODES, before)) == []


def test_a_removed_camera_disappears_and_a_new_one_is_placed() -> None:
    before = place(CAMS, NODES)
    after = place([*CAMS[1:], "cam-new"], NODES, before)
    assert CAMS[0] not in after.owners and "cam-new" in after.owners
    assert moved(before, after) == []


def test_ranking_without_a_node_is_the_same_order_minus_that_node() -> None:
    full = ranking("cam-7", NODES)
    fewer = ranking("cam-7", {n: w for n, w in NODES.items() if n != full[2]})
    assert fewer == [n for n in full if n != full[2]]


def test_no_nodes_is_an_error_that_says_what_to_start() -> None:
    with pytest.raises(PlacementError, match="node resource"):
        place(CAMS, {})
    with pytest.raises(PlacementError, match="positive"):
        place(CAMS, {"a": 0.0})
    assert Placement().loads() == {}
