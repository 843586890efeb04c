"""Config: every error class is reported with its path, the bad value (secrets masked) and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.loader import DEMO_CONFIG, redact_url

FACTORY = DEMO_CONFIG.with_name("factory.example.yaml")

BASE = """
cameras:
  - id: cam1
    source: {type: rtsp, url: "rtsp://viewer:hunter2@10.0.0.5/stream"}
rules:
  - id: jam
    cameras: [cam1]
    condition: {type: question, text: "Is the belt jammed?"}
"""


def _load(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value


def _paths(error: ConfigError) -> dict[str, str]:
    return {issue.path: str(issue) for issue in error.issues}


def test_demo_config_is_the_default_and_valid() -> None:
    settings = load_settings()
    assert [c.id for c in settings.cameras] == ["line1"]
    assert settings.engine.model == "tiny"
    assert settings.redis.url is None


def test_factory_example_is_valid_with_its_secrets_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PASSWORD", "s3cret")
    monkeypatch.setenv("VIGIL_API_TOKEN", "tok")
    settings = load_settings(FACTORY)
    url = settings.cameras[0].source.url.get_secret_value()  # type: ignore[union-attr]
    assert "viewer:s3cret@" in url
    assert "s3cret" not in repr(settings)


def test_factory_example_without_its_secrets_names_each_unset_variable_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAM_PASSWORD", raising=False)
    monkeypatch.delenv("VIGIL_API_TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_settings(FACTORY)
    paths = [issue.path for issue in caught.value.issues]
    assert paths == ["api.token", "cameras[0].source.url", "cameras[1].source.url"]  # not also "api.token: blank"
    assert all("is not set" in issue.message for issue in caught.value.issues)


def test_wrong_key_is_reported_with_its_path_and_the_allowed_keys(tmp_path: Path) -> None:
    error = _load(tmp_path, BASE + "engine: {modle: tiny}\n")
    message = _paths(error)["engine.modle"]
    assert "unknown key" in message and "model" in message and "window_chunks" in message


def test_wrong_key_inside_a_tagged_union_names_that_members_keys(tmp_path: Path) -> None:
    error = _load(tmp_path, BASE.replace("text:", "txt:"))
    assert "allowed here: text, type" in _paths(error)["rules[0].condition.txt"]


def test_wrong_type_shows_the_value(tmp_path: Path) -> None:
    error = _load(tmp_path, BASE.replace("    source:", "    fps: fast\n    source:"))
    assert "'fast'" in _paths(error)["cameras[0].fps"]


def test_rule_naming_an_unknown_camera(tmp_path: Path) -> None:
    error = _load(tmp_path, BASE.replace("cameras: [cam1]", "cameras: [cam1, cam9]"))
    message = _paths(error)["rules[0].cameras[1]"]
    assert "unknown camera" in message and "'cam9'" in message and "cam1" in message


def test_missing_secret_variable_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAM_PW", raising=False)
    error = _load(tmp_path, BASE.replace("hunter2", "${CAM_PW}"))
    message = _paths(error)["cameras[0].source.url"]
    assert "CAM_PW is not set" in message
    assert message.endswith("export it (a secret belongs in the environment, not in the file)")  # no default hint


def test_missing_plain_variable_suggests_a_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINE_NAME", raising=False)
    error = _load(tmp_path, BASE.replace("the belt", "${LINE_NAME}"))
    assert _paths(error)["rules[0].condition.text"].endswith("export it or write ${LINE_NAME:-default}")


def test_every_issue_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE + "engine: {modle: tiny, fps: -1}\napi: {port: 70000}\n"
    error = _load(tmp_path, text.replace("cameras: [cam1]", "cameras: [nope]"))
    assert {"engine.modle", "engine.fps", "api.port", "rules[0].cameras[0]"} <= set(_paths(error))


def test_secrets_never_appear_in_errors(tmp_path: Path) -> None:
    text = BASE.replace("rtsp://viewer", "http://viewer") + "api: {token: 12}\n"
    error = _load(tmp_path, text)
    assert "hunter2" not in str(error)
    assert "cameras[0].source.url" in _paths(error)


def test_duplicate_camera_ids_are_refused(tmp_path: Path) -> None:
    text = BASE.replace("rules:", "  - id: cam1\n    source: {type: synthetic}\nrules:")
    assert "duplicate id" in _paths(_load(tmp_path, text))["cameras[1].id"]


def test_yaml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    error = _load(tmp_path, "cameras: [\n")
    assert "not valid YAML" in str(error)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(BASE + "engine: {fps: 1.0}\n")
    monkeypatch.setenv("VIGIL_ENGINE__FPS", "2.5")
    monkeypatch.setenv("VIGIL_STATE_DIR", str(tmp_path / "state"))
    settings = load_settings(path)
    assert settings.engine.fps == 2.5
    assert settings.state_dir == tmp_path / "state"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.engine.fps = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(("text", "shown"), [
    ("rtsp://admin:p@ss@10.0.0.1:554/s", "rtsp://***@10.0.0.1:554/s"),  # a raw "@" inside the password
    ("rtsp://10.0.0.1/live?user=admin&password=s3cret&ch=1", "rtsp://10.0.0.1/live?user=***&password=***&ch=1"),
    ("cannot open rtsp://a:b@h/x (timeout)", "cannot open rtsp://***@h/x (timeout)"),
    ("rtsp://10.0.0.1/path@2", "rtsp://10.0.0.1/path@2"),  # an "@" after the host is not a credential
])
def test_urls_are_redacted_wherever_credentials_hide(text: str, shown: str) -> None:
    assert redact_url(text) == shown
