"""Read a settings file as bounded YAML: UTF-8 only, a bounded nesting depth and a bounded size once aliases expand.

A YAML alias (`*name`) is a reference, so a few lines can stand for billions of values ("billion laughs": nine
levels of nine aliases each). Parsing shares the references and stays cheap, but anything that walks the data
(interpolation, validation) pays for every expanded value. The composed node graph is therefore measured before
anything is built from it, and a file that expands past MAX_VALUES or nests past MAX_DEPTH is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError, ConfigIssue

MAX_BYTES = 4 * 1024 * 1024  # a settings file of hundreds of cameras is well under 1 MiB
MAX_VALUES = 100_000  # scalars + collections after alias expansion; 500 cameras with 20 rules each need ~30,000
MAX_DEPTH = 32  # the deepest Vigil setting (a rule's region point) is 6 levels down


class _Oversized(Exception):
    """The node graph breaks a bound; carries the message shown to the user."""


def read_yaml(source: Path) -> Any:
    """The file's single YAML document as plain Python data (None for an empty file); ConfigError otherwise."""
    text = _read_text(source)
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # checks the characters: YAML refuses control characters such as NUL
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, {}, set(), 1)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _error(source, f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise _error(source, f"nested too deeply to read (a Vigil config is at most {MAX_DEPTH} levels deep)") from exc
    except _Oversized as exc:
        raise _error(source, str(exc)) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _read_text(source: Path) -> str:
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise _error(source, f"cannot read the file: {exc.strerror}") from exc
    if len(data) > MAX_BYTES:
        raise _error(source, f"the file is {len(data)} bytes; a settings file is at most {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the "
                             "file as UTF-8") from exc


def _measure(node: yaml.Node, memo: dict[int, tuple[int, int]], open_: set[int], depth: int) -> int:
    """Values `node` stands for once every alias is expanded (memoized per node); raises _Oversized."""
    size, height = _size_and_height(node, memo, open_)
    if depth + height - 1 > MAX_DEPTH:
        raise _Oversized(f"nested more than {MAX_DEPTH} levels deep; a Vigil config is at most 6 levels deep")
    return size


def _size_and_height(node: yaml.Node, memo: dict[int, tuple[int, int]], open_: set[int]) -> tuple[int, int]:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise _Oversized("an alias refers to the collection that contains it (a recursive structure); "
                         "remove that alias")
    if len(open_) > MAX_DEPTH:
        raise _Oversized(f"nested more than {MAX_DEPTH} levels deep; a Vigil config is at most 6 levels deep")
    open_.add(key)
    parts = [_size_and_height(child, memo, open_) for child in _children(node)]
    open_.discard(key)
    size, height = 1 + sum(p[0] for p in parts), 1 + max((p[1] for p in parts), default=0)
    if size > MAX_VALUES:
        raise _Oversized(f"expands to more than {MAX_VALUES} values once its aliases (*name) are expanded, "
                         "which no Vigil config needs (an alias bomb?); write the values out or use fewer aliases")
    memo[key] = (size, height)
    return size, height


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _error(source: Path, message: str) -> ConfigError:
    return ConfigError(str(source), [ConfigIssue("(file)", message)])
