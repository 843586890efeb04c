"""Credentials with any printable character: parsed by URL structure, percent-encoded, never shown anywhere."""

from __future__ import annotations

import os
import string
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import redis.asyncio as aioredis

from config import ConfigError, load_settings
from config.urls import redact_url
from ingest.lifecycle import CameraLifecycle
from ingest.status import CameraState
from tests.ingest.conftest import StatusLog
from tests.support.vigil import VIGIL

CONFIG = """
cameras:
  - id: cam1
    source: {type: rtsp, url: "rtsp://${CAM_USER}:${CAM_PW}@127.0.0.1:8554/s?channel=1&password=${CAM_PW}"}
redis:
  url: "redis://:${REDIS_PW}@127.0.0.1:6399/0"
"""
# every printable class: punctuation one by one (the URL delimiters among them), space, letters, digits, non-ASCII
CHARACTERS = [*string.punctuation, " ", "Ab9", "é€", "\t"]


def secret(char: str) -> str:
    return f"Sl{char}ash{char}{char}end"


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str, password: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CAM_USER", user)
    monkeypatch.setenv("CAM_PW", password)
    monkeypatch.setenv("REDIS_PW", password)
    path = tmp_path / "vigil.yaml"
    path.write_text(CONFIG)
    return load_settings(path)


@pytest.mark.parametrize("char", CHARACTERS, ids=[f"U+{ord(c[0]):04X}" for c in CHARACTERS])
def test_any_character_in_user_and_password_parses_and_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      char: str) -> None:
    user, password = f"ad{char}min", secret(char)
    settings = load(tmp_path, monkeypatch, user, password)
    url = settings.cameras[0].source.url.get_secret_value()  # type: ignore[union-attr]
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", 8554, "/s")
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == (user, password)
    assert parts.query == f"channel=1&password={quote(password, safe='')}"
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    pool = aioredis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    assert (pool["host"], pool["port"], pool["password"]) == ("127.0.0.1", 6399, password)
    for text in (url, f"[rtsp @ 0x55] could not open '{url}': 401", f"error {unquote(url)} failed",
                 repr(redis_url), f"Authorization failed for user {user!r}: {password}"):
        shown = redact_url(text)
        assert password not in shown and quote(password, safe="") not in shown, shown


@pytest.mark.parametrize("char", CHARACTERS, ids=[f"U+{ord(c[0]):04X}" for c in CHARACTERS])
def test_a_user_name_written_in_the_file_never_exposes_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     char: str) -> None:
    """A literal user name that breaks the URL ('ad min', 'ad/min'): refused or not, the password never shows."""
    password = f"Lit{char}pw/ @#{ord(char[0])}"  # unlike any other test's: the masking is this load's own
    user = f"ad{char}min".replace("\\", "\\\\").replace('"', '\\"')  # inside a YAML double-quoted string
    monkeypatch.setenv("CAM_PW", password)
    monkeypatch.setenv("REDIS_PW", "unused-here")
    path = tmp_path / "vigil.yaml"
    path.write_text(CONFIG.replace("${CAM_USER}", user))
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        shown = str(exc)
    else:
        shown = redact_url(settings.cameras[0].source.url.get_secret_value())  # type: ignore[union-attr]
    assert password not in shown and quote(password, safe="") not in shown, shown


def test_a_reason_on_the_status_channel_never_carries_the_password(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    password = secret("/") + " @#?"
    settings = load(tmp_path, monkeypatch, "admin", password)
    url = settings.cameras[0].source.url.get_secret_value()  # type: ignore[union-attr]
    statuses = StatusLog()
    life = CameraLifecycle("cam1", statuses)
    life.move(CameraState.CONNECTING, f"cannot open {url} nor {unquote(url)}")
    assert password not in statuses.events[-1].reason and "***" in statuses.events[-1].reason


@pytest.mark.slow
def test_check_config_never_prints_the_password(tmp_path: Path) -> None:
    password = string.punctuation + " end"
    path = tmp_path / "vigil.yaml"
    path.write_text(CONFIG)
    env = {**os.environ, "CAM_USER": "admin", "CAM_PW": password, "REDIS_PW": password}
    done = subprocess.run([str(VIGIL), "check-config", str(path)], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert "rtsp://***@127.0.0.1:8554/s" in done.stdout and "redis://***@127.0.0.1:6399/0" in done.stdout
    for form in (password, quote(password, safe=""), password[:6], quote(password, safe="")[:6]):
        assert form not in done.stdout + done.stderr
