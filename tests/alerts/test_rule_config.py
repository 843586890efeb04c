"""Bad rule configurations are refused with errors that name the key and say what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config.errors import ConfigError
from config.loader import load_settings

CAMERA = {"id": "line1", "source": {"type": "synthetic"}}


def issues(tmp_path: Path, *rules: dict[str, object]) -> list[str]:
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump({"cameras": [CAMERA], "rules": list(rules)}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return [str(i) for i in caught.value.issues]


def test_motion_rule_without_region_names_the_missing_key(tmp_path: Path) -> None:
    found = issues(tmp_path, {"id": "jam", "condition": {"type": "motion", "below": 0.02}})
    assert found == ["rules[0].condition.region: required key is missing"]


def test_question_threshold_outside_unit_interval(tmp_path: Path) -> None:
    rule = {"id": "q", "threshold": 1.5, "condition": {"type": "question", "text": "Is it jammed?"}}
    found = issues(tmp_path, rule)
    assert len(found) == 1 and found[0].startswith("rules[0].threshold: Input should be less than or equal to 1")
    assert "(got 1.5)" in found[0]


def test_rule_naming_an_unknown_camera_lists_the_known_ones(tmp_path: Path) -> None:
    rule = {"id": "q", "cameras": ["line1", "line9"], "condition": {"type": "camera_offline"}}
    assert issues(tmp_path, rule) == ["rules[0].cameras[1]: unknown camera; known: ['line1'] (got 'line9')"]


def test_motion_rule_needs_exactly_one_bound(tmp_path: Path) -> None:
    cond = {"type": "motion", "region": [[0, 0], [1, 1]], "below": 0.1, "above": 0.5}
    found = issues(tmp_path, {"id": "m", "condition": cond})
    assert found == ["rules[0].condition: a motion condition needs exactly one of 'below' or 'above'"]


def test_region_points_must_be_normalized_and_boxes_not_empty(tmp_path: Path) -> None:
    outside = {"type": "presence", "region": [[0, 0], [1.2, 1]]}
    empty = {"type": "presence", "region": [[0.5, 0.5], [0.5, 0.9]]}
    found = issues(tmp_path, {"id": "a", "condition": outside}, {"id": "b", "condition": empty})
    assert found[0] == "rules[0].condition.region: point (1.2, 1.0) is outside the normalized range 0..1"
    assert found[1].startswith("rules[1].condition.region: box [(0.5, 0.5), (0.5, 0.9)] is empty")


def test_a_polygon_without_area_is_refused(tmp_path: Path) -> None:
    same = {"type": "presence", "region": [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]}
    line = {"type": "motion", "region": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], "below": 0.02}
    bow_tie = {"type": "presence", "region": [[0, 0], [1, 1], [1, 0], [0, 1]]}  # the two halves cancel
    square = {"type": "presence", "region": [[0, 0], [1, 0], [1, 1], [0, 1]]}
    found = issues(tmp_path, *({"id": n, "condition": c} for n, c in
                               (("a", same), ("b", line), ("c", bow_tie), ("d", square))))
    assert [f.split(":")[0] for f in found] == [f"rules[{i}].condition.region" for i in range(3)]
    assert all("encloses no area" in f for f in found)


def test_clear_below_above_threshold_and_zero_direction_are_refused(tmp_path: Path) -> None:
    hysteresis = {"id": "h", "threshold": 0.5, "clear_below": 0.7, "condition": {"type": "question", "text": "Jam?"}}
    still = {"id": "d", "condition": {"type": "motion", "region": [[0, 0], [1, 1]], "below": 0.1,
                                      "direction": [0, 0]}}
    found = issues(tmp_path, hysteresis, still)
    assert "rules[0]: clear_below (0.7) must not exceed threshold (0.5)" in found
    assert any(f.startswith("rules[1].condition.direction: direction (0, 0) has no direction") for f in found)


def test_unknown_condition_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    found = issues(tmp_path, {"id": "p", "condition": {"type": "presence", "region": [[0, 0], [1, 1]], "count": 2}})
    assert len(found) == 1 and found[0].startswith("rules[0].condition.count: unknown key; allowed here:")
    assert "min_count" in found[0]


def test_empty_camera_list_is_refused(tmp_path: Path) -> None:
    found = issues(tmp_path, {"id": "p", "cameras": [], "condition": {"type": "camera_offline"}})
    assert found == ["rules[0].cameras: empty camera list: name at least one camera id, or write 'all'"]


def test_demo_rules_are_valid() -> None:
    settings = load_settings()
    assert {r.id for r in settings.rules_for("line1")} >= {"conveyor_jam", "person_in_zone"}


def test_a_self_crossing_polygon_is_refused_with_the_edges_that_cross(tmp_path: Path) -> None:
    # unbalanced bow tie: the halves do not cancel, so the area check alone let it through
    bow_tie = {"type": "presence", "region": [[0, 0], [1, 1], [1, 0], [0.2, 0.6]]}
    touching = {"type": "presence", "region": [[0, 0], [1, 0], [0.5, 0.5], [1, 1], [0, 1], [0.5, 0.5]]}
    concave = {"type": "presence", "region": [[0, 0], [1, 0], [1, 1], [0.5, 0.3], [0, 1]]}
    found = issues(tmp_path, *({"id": n, "condition": c} for n, c in
                               (("a", bow_tie), ("b", touching), ("c", concave))))
    assert [f.split(":")[0] for f in found] == ["rules[0].condition.region", "rules[1].condition.region"]
    assert found[0].endswith("polygon edges cross: (0.0, 0.0)-(1.0, 1.0) and (1.0, 0.0)-(0.2, 0.6); "
                             "list its corners in order around the region")
    assert "polygon edges cross" in found[1]


def test_a_region_with_too_many_points_is_refused(tmp_path: Path) -> None:
    import math
    circle = [[0.5 + 0.4 * math.cos(k / 300 * 2 * math.pi), 0.5 + 0.4 * math.sin(k / 300 * 2 * math.pi)]
              for k in range(300)]
    found = issues(tmp_path, {"id": "a", "condition": {"type": "presence", "region": circle}})
    assert found == ["rules[0].condition.region: a region has at most 256 points (300 given); simplify it"]
