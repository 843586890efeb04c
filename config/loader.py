"""Read a YAML file, interpolate ${VAR} secrets, validate, and explain every problem at once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from config.checks import cross_checks, remember_secrets
from config.errors import ConfigError, ConfigIssue
from config.introspect import allowed_keys
from config.settings import VigilSettings
from config.urls import encode_component, redact_url, remember_secret, userinfo_span
from config.yaml_reader import read_yaml

__all__ = ["DEMO_CONFIG", "check_references", "format_path", "load_settings", "redact_url"]

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_KEYS = {"token", "password", "secret", "url"}
_ENV_FIELD = re.compile(r'field "(?P<field>[^"]+)"')


def format_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def load_settings(path: Path | str | None = None) -> VigilSettings:
    """Load `path` (default: the demo config); raise ConfigError naming every invalid key.

    The same checks serve `vigil check-config` and `vigil run`: what one accepts, the other does too.
    """
    source = Path(path) if path is not None else DEMO_CONFIG
    raw = read_yaml(source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(str(source), [ConfigIssue("(root)", "must be a mapping of settings such as 'cameras:' "
                                                    f"and 'rules:' (got {type(raw).__name__})")])
    issues: list[ConfigIssue] = []
    data = _interpolate(raw, (), issues)
    issues += check_references(data)
    settings = _validate(data, issues)
    if settings is not None:
        issues += cross_checks(settings)
    if issues or settings is None:
        raise ConfigError(str(source), issues)
    remember_secrets(settings)
    return settings


def _validate(data: dict[str, Any], issues: list[ConfigIssue]) -> VigilSettings | None:
    try:
        return VigilSettings(**data)
    except ValidationError as exc:  # a key already reported (say, its variable is unset) is not reported twice
        reported = {issue.path for issue in issues}
        issues += [issue for issue in _issues(exc.errors()) if issue.path not in reported]
    except SettingsError as exc:  # a VIGIL_* variable that is not valid JSON for its field
        field = _ENV_FIELD.search(str(exc))
        name = f"VIGIL_{field.group('field').upper()}" if field else "a VIGIL_* variable"
        issues.append(ConfigIssue(f"{name} (environment)", "cannot be parsed: a list or mapping setting takes a "
                                  "JSON value, e.g. VIGIL_CAMERAS='[{\"id\": \"cam1\", ...}]'; fix or unset it"))
    return None


def _interpolate(value: Any, loc: tuple[int | str, ...], issues: list[ConfigIssue]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), issues) for k, v in value.items() if _text_key(k, loc, issues)}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), issues) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _substitute(value, loc, issues)
    return value


def _text_key(key: object, loc: tuple[int | str, ...], issues: list[ConfigIssue]) -> bool:
    if isinstance(key, str):
        return True
    where = format_path(loc) if loc else "(root)"
    issues.append(ConfigIssue(where, f"keys must be names such as 'cameras' (got the {type(key).__name__} "
                              f"{str(key)[:40]!r}); quote it or remove it"))
    return False


def _substitute(template: str, loc: tuple[int | str, ...], issues: list[ConfigIssue]) -> str:
    """${VAR} replaced; inside a URL's userinfo or query the value is percent-encoded (config.urls)."""
    span = userinfo_span(template)
    query = template.find("?", span[1] if span else 0) if "://" in template else -1

    def value(match: re.Match[str]) -> str:
        in_userinfo = span is not None and span[0] <= match.start() < span[1]
        found = _lookup(match, loc, issues, in_userinfo or (bool(loc) and str(loc[-1]) in _SECRET_KEYS - {"url"}))
        encoded = in_userinfo or 0 <= query < match.start()
        if encoded or ("://" in template and "@" in template[match.end():]):  # credentials, URL broken or not
            remember_secret(found)  # masked in the errors of this very load, before the URL is known to parse
        return encode_component(found) if encoded else found

    return _VAR.sub(value, template)


def _lookup(match: re.Match[str], loc: tuple[int | str, ...], issues: list[ConfigIssue], secret: bool) -> str:
    name, default = match.group(1), match.group(2)
    found = os.environ.get(name)
    if found is not None:
        return found
    if default is not None:
        return default
    # a default written in the file is no secret: for a token or a URL's credentials, only the environment will do
    fix = "export it (a secret belongs in the environment, not in the file)" if secret else \
        f"export it or write ${{{name}:-default}}"
    issues.append(ConfigIssue(format_path(loc), f"environment variable {name} is not set (referenced as ${{{name}}}); "
                              f"{fix}"))
    return ""


def check_references(data: Mapping[str, Any]) -> list[ConfigIssue]:
    """Cross-key checks pydantic cannot do field by field: duplicate ids, rules naming unknown cameras.

    Entries of the wrong type are skipped here: validation names them with their key path.
    """
    cameras = _items(data.get("cameras"))
    rules = _items(data.get("rules"))
    issues = _duplicates(cameras, "cameras") + _duplicates(rules, "rules")
    known = {c.get("id") for c in cameras if isinstance(c, dict) and isinstance(c.get("id"), str)}
    for i, rule in enumerate(rules):
        named = rule.get("cameras") if isinstance(rule, dict) else None
        if not isinstance(named, list):
            continue
        for j, camera_id in enumerate(named):
            if isinstance(camera_id, str) and camera_id not in known:
                allowed = f"unknown camera; known: {sorted(map(str, known))}"
                issues.append(ConfigIssue(f"rules[{i}].cameras[{j}]", allowed, repr(camera_id)))
    return issues


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _duplicates(items: list[Any], key: str) -> list[ConfigIssue]:
    seen: set[str] = set()
    issues = []
    for i, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            issues.append(ConfigIssue(f"{key}[{i}].id", "duplicate id; ids must be unique", repr(ident)))
        seen.add(ident)
    return issues


def _issues(errors: list[Any]) -> list[ConfigIssue]:
    """One issue per key path: the alternatives of a union (`cameras: all` or a list) become one message."""
    merged: dict[str, ConfigIssue] = {}
    for err in errors:
        issue = _issue(err)
        if issue.path in merged:
            first = merged[issue.path]
            issue = ConfigIssue(issue.path, f"{first.message}, or {issue.message}", first.value or issue.value)
        merged[issue.path] = issue
    return list(merged.values())


def _issue(err: Mapping[str, Any]) -> ConfigIssue:
    raw_loc = tuple(err["loc"])
    loc = tuple(p for p in raw_loc if not _is_branch_label(p))
    return ConfigIssue(format_path(loc), _message(err, raw_loc), _shown_value(loc, err.get("input")))


_UNION_TAGS = {"rtsp", "file", "synthetic", "webrtc", "question", "motion", "presence", "camera_offline"}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_branch_label(part: int | str) -> bool:
    """pydantic names the union branch it tried ('rtsp', "list[str]", "literal['all']"): not a config key."""
    return isinstance(part, str) and (part in _UNION_TAGS or not _KEY.fullmatch(part))


def _message(err: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    if err["type"] == "extra_forbidden":
        return f"unknown key; allowed here: {', '.join(allowed_keys(VigilSettings, loc)) or 'see the docs'}"
    if err["type"] == "missing":
        return "required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_type" and isinstance(err.get("input"), bool):  # YAML 1.1 reads `off` as false
        message += "; YAML reads yes/no/on/off/true/false as true or false: quote the value (e.g. 'off')"
    return message


def _is_plain_url(value: object) -> bool:
    """A URL shown redacted is more helpful than ***; any other value of a secret key is masked whole."""
    return isinstance(value, str) and "://" in value


def _shown_value(loc: tuple[int | str, ...], value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if loc and str(loc[-1]) in _SECRET_KEYS and not _is_plain_url(value):
        return "'***'"
    text = repr(value)
    return redact_url(text[:80] + ("..." if len(text) > 80 else ""))
