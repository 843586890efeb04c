"""The zone editor's YAML: a rule drawn on the live image, written as a snippet to paste under `rules:`.

Coordinates are normalised: x runs from the image's left edge (0) to its right edge (1), y from the top (0) to
the bottom (1). A belt direction [dx, dy] is in the same image axes (x right, y down), scaled to unit length:
[1, 0] moves right, [0, 1] moves down, [-0.707, 0.707] moves down-left. The snippet is checked by the code
behind `vigil check-config` (config.loader.load_settings on the very text shown), never by a copy of its rules.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import typing
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.loader import load_settings
from config.rules import RuleSettings

# Settings a drawn condition needs besides its region and direction, with the documented starting values.
STARTING_VALUES: dict[str, dict[str, Any]] = {
    "motion": {"below": 0.02},  # frame widths per second: under this the belt counts as stopped
    "conveyor": {"state": "stopped"},
}
HEADER = (
    "# Paste under `rules:` in your config; `vigil check-config FILE` validates it.\n"
    "# region: normalised [x, y] points, x 0 = left edge .. 1 = right edge, y 0 = top .. 1 = bottom.\n"
)
DIRECTION_NOTE = "# direction: [dx, dy] in image axes (x right, y down), unit length; [1, 0] = moving right.\n"


def region_conditions() -> dict[str, bool]:
    """Condition types that take a drawn region, each with whether it also takes a direction (from config.rules)."""
    union = RuleSettings.model_fields["condition"].annotation
    found: dict[str, bool] = {}
    for model in typing.get_args(union):
        fields = getattr(model, "model_fields", {})
        if "region" in fields:
            found[str(fields["type"].default)] = "direction" in fields
    return found


def unit(direction: tuple[float, float]) -> list[float]:
    """The direction scaled to length 1, rounded to 3 decimals; (0, 0) stays (0, 0) for the validator to refuse."""
    length = math.hypot(*direction)
    if length == 0 or not math.isfinite(length):
        return [0.0, 0.0]
    return [round(direction[0] / length, 3), round(direction[1] / length, 3)]


def condition(kind: str, region: list[tuple[float, float]], direction: tuple[float, float] | None) -> dict[str, Any]:
    points = [[round(x, 4), round(y, 4)] for x, y in region]
    drawn: dict[str, Any] = {"type": kind, "region": points}
    if direction is not None:
        drawn["direction"] = unit(direction)
    return drawn | STARTING_VALUES.get(kind, {})


def snippet(rule_id: str, camera_id: str, drawn: dict[str, Any]) -> str:
    """The rule as YAML (flow lists are JSON, which YAML reads as it is)."""
    lines = [f"- id: {rule_id}", f"  cameras: [{camera_id}]", "  condition:"]
    lines += [f"    {key}: {_scalar(value)}" for key, value in drawn.items()]
    note = DIRECTION_NOTE if "direction" in drawn else ""
    return HEADER + note + "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    # Plain words stay unquoted (type: presence); anything else is JSON, which YAML reads as it is.
    return value if isinstance(value, str) and re.fullmatch(r"[a-z][a-z_]*", value) else json.dumps(value)


def check(camera_id: str, text: str) -> list[str]:
    """Issues `vigil check-config` reports for the snippet under `rules:` beside its camera; [] when valid."""
    indented = "".join(f"  {line}\n" for line in text.splitlines())
    document = f"cameras:\n  - id: {camera_id}\n    source: {{type: synthetic}}\nrules:\n{indented}"
    with tempfile.TemporaryDirectory(prefix="vigil-zone-") as folder:
        path = Path(folder) / "zone.yaml"
        path.write_text(document, encoding="utf-8")
        try:
            load_settings(path)
        except ConfigError as exc:
            return [str(issue).replace("rules[0].", "") for issue in exc.issues]
    return []
