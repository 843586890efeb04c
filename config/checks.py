"""Checks on validated settings that span sections, advice on configs that watch nothing, secrets to mask.

`load_settings` runs `cross_checks`, so `vigil check-config` refuses exactly what `vigil run` would refuse.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from config.errors import ConfigIssue
from config.settings import VigilSettings
from config.urls import remember_secret, url_problem

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True only for addresses that never leave this machine; '0.0.0.0' and names that resolve elsewhere are not."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cross_checks(settings: VigilSettings) -> list[ConfigIssue]:
    """Problems no single field shows: a public bind without a token, a Redis URL that does not parse."""
    return _bind_issues(settings) + _redis_issues(settings)


def _bind_issues(settings: VigilSettings) -> list[ConfigIssue]:
    api = settings.api
    if not api.enabled or is_loopback(api.host) or api.token is not None:
        return []
    return [ConfigIssue(
        "api.token",
        f"api.host is {api.host!r}, which is reachable from other machines, and no token is set; set api.token "
        "(e.g. token: ${VIGIL_API_TOKEN}) or bind to 127.0.0.1",
    )]


def _redis_issues(settings: VigilSettings) -> list[ConfigIssue]:
    if settings.redis.url is None:
        return []
    problem = url_problem(settings.redis.url.get_secret_value(), ("redis", "rediss", "unix"))
    return [ConfigIssue("redis.url", problem)] if problem else []


def advisories(settings: VigilSettings) -> list[str]:
    """Valid but probably not meant: a config that watches nothing or can raise no alert."""
    cameras = [c for c in settings.cameras if c.enabled]
    rules = [r for r in settings.rules if r.enabled]
    if not cameras:
        return ["no enabled camera: this config watches nothing (add one under 'cameras:')"]
    if not rules:
        return ["no enabled rule: the cameras are recorded but no alert can be raised (add one under 'rules:')"]
    return []


def remember_secrets(settings: BaseModel) -> None:
    """Every secret in the settings (tokens, credentials inside URLs) is masked in any text redacted from now on."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, SecretStr):
                _remember(item.get_secret_value())
            elif isinstance(item, BaseModel):
                remember_secrets(item)


def _remember(secret: str) -> None:
    if "://" not in secret:
        remember_secret(secret)
        return
    try:
        parts = urlsplit(secret)
    except ValueError:
        return
    for part in (parts.password, parts.username if parts.password is None else None):
        if part:
            remember_secret(part)
