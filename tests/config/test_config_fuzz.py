"""Property: any mutation of the example configs makes `vigil check-config` exit 0 or 2, never a traceback."""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.loader import DEMO_CONFIG
from service.cli import EXIT_CONFIG, EXIT_OK, main

EXAMPLES = [DEMO_CONFIG, DEMO_CONFIG.with_name("factory.example.yaml")]
# A hang guard, not a speed check: the alias bomb hung for minutes; a slow machine still ends each example far
# sooner than this.
HANG_GUARD = timedelta(seconds=30)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["${NOPE}", "${PW}", "rtsp://a:b/c@d/e", "0.0.0.0", "all", "", " ",
                                           "1e308", "-1", "[", "{a: 1}", "*x", "&x"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.one_of(st.text(max_size=8), st.integers()), inner, max_size=3), max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out += _paths(child, (*prefix, i))
    return out


@st.composite
def mutated_config(draw: st.DrawFn) -> bytes:
    data = copy.deepcopy(yaml.safe_load(draw(st.sampled_from(EXAMPLES)).read_text()))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths[1:] or paths))
        data = _mutate(data, path, draw(st.sampled_from(["replace", "delete", "wrap", "add"])), draw(values))
    text = yaml.safe_dump(data, allow_unicode=True).encode()
    if draw(st.booleans()):  # damage the text itself: a byte anywhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=3)) + text[at:]
    return text


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    if how == "delete":
        del parent[key]
    elif how == "wrap":
        parent[key] = [parent[key]]
    elif how == "add" and isinstance(parent, dict):
        parent[f"extra_{len(parent)}" if value is None else str(value)[:10]] = value
    else:
        parent[key] = value
    return data


@pytest.mark.slow
@settings(max_examples=120, deadline=HANG_GUARD, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_config())
def test_any_mutation_of_an_example_config_exits_0_or_2_without_a_traceback(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "vigil.yaml"
        path.write_bytes(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check-config", str(path)])
    assert code in (EXIT_OK, EXIT_CONFIG), err.getvalue()
    assert "Traceback" not in err.getvalue() + out.getvalue()
