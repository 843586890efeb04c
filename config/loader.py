"""Read a YAML file, interpolate ${VAR} secrets, validate, and explain every problem at once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.errors import ConfigError, ConfigIssue
from config.introspect import allowed_keys
from config.settings import VigilSettings

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_KEYS = {"token", "password", "secret"}
# userinfo runs to the last "@" before the host: a raw "@" inside a password must not leak what follows it
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s]*@", re.IGNORECASE)
_SECRET_PARAMS = re.compile(r"(?P<key>[?&](?:user(?:name)?|pass(?:word|wd)?|pwd|token|auth|key)=)[^&#\s]*",
                            re.IGNORECASE)


def redact_url(text: str) -> str:
    """Replace the user:password part, and credential query parameters, of any URL in `text` with ***."""
    return _SECRET_PARAMS.sub(r"\g<key>***", _USERINFO.sub(r"\g<scheme>***@", text))


def format_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def load_settings(path: Path | str | None = None) -> VigilSettings:
    """Load `path` (default: the demo config); raise ConfigError naming every invalid key."""
    source = Path(path) if path is not None else DEMO_CONFIG
    raw = _read_yaml(source)
    issues: list[ConfigIssue] = []
    data = _interpolate(raw, (), issues)
    issues += check_references(data)
    try:
        settings = VigilSettings(**data)
    except ValidationError as exc:
        issues += [_issue(err) for err in exc.errors()]
        settings = None
    if issues or settings is None:
        raise ConfigError(str(source), issues)
    return settings


def _read_yaml(source: Path) -> dict[str, Any]:
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(source), [ConfigIssue("(file)", f"cannot read the file: {exc.strerror}")]) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(str(source), [ConfigIssue("(file)", f"not valid YAML: {exc}")]) from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(str(source), [ConfigIssue("(root)", "must be a mapping of settings")])
    return raw


def _interpolate(value: Any, loc: tuple[int | str, ...], issues: list[ConfigIssue]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), issues) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _VAR.sub(lambda m: _lookup(m, loc, issues), value)
    return value


def _lookup(match: re.Match[str], loc: tuple[int | str, ...], issues: list[ConfigIssue]) -> str:
    name, default = match.group(1), match.group(2)
    found = os.environ.get(name)
    if found is not None:
        return found
    if default is not None:
        return default
    issues.append(ConfigIssue(format_path(loc), f"environment variable {name} is not set (referenced as ${{{name}}}); "
                              f"export it or write ${{{name}:-default}}"))
    return ""


def check_references(data: Mapping[str, Any]) -> list[ConfigIssue]:
    """Cross-key checks pydantic cannot do field by field: duplicate ids, rules naming unknown cameras."""
    cameras = data.get("cameras") or []
    rules = data.get("rules") or []
    issues = _duplicates(cameras, "cameras") + _duplicates(rules, "rules")
    known = {c.get("id") for c in cameras if isinstance(c, dict)}
    for i, rule in enumerate(rules):
        named = rule.get("cameras") if isinstance(rule, dict) else None
        if not isinstance(named, list):
            continue
        for j, camera_id in enumerate(named):
            if camera_id not in known:
                allowed = f"unknown camera; known: {sorted(map(str, known))}"
                issues.append(ConfigIssue(f"rules[{i}].cameras[{j}]", allowed, repr(camera_id)))
    return issues


def _duplicates(items: list[Any], key: str) -> list[ConfigIssue]:
    seen: set[object] = set()
    issues = []
    for i, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        if ident is not None and ident in seen:
            issues.append(ConfigIssue(f"{key}[{i}].id", "duplicate id; ids must be unique", repr(ident)))
        seen.add(ident)
    return issues


def _issue(err: Mapping[str, Any]) -> ConfigIssue:
    raw_loc = tuple(err["loc"])
    loc = tuple(p for p in raw_loc if not (isinstance(p, str) and p in _UNION_TAGS))
    return ConfigIssue(format_path(loc), _message(err, raw_loc), _shown_value(loc, err.get("input")))


_UNION_TAGS = {"rtsp", "file", "synthetic", "webrtc", "question", "motion", "presence", "camera_offline"}


def _message(err: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    if err["type"] == "extra_forbidden":
        return f"unknown key; allowed here: {', '.join(allowed_keys(VigilSettings, loc)) or 'see the docs'}"
    if err["type"] == "missing":
        return "required key is missing"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


def _shown_value(loc: tuple[int | str, ...], value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if loc and str(loc[-1]) in _SECRET_KEYS:
        return "'***'"
    text = repr(value)
    return redact_url(text[:80] + ("..." if len(text) > 80 else ""))
