"""Hostile configs: every shape of wrong input is exit 2 with its key path, never a traceback, never a hang."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.yaml_reader import MAX_DEPTH, MAX_VALUES
from tests.support.vigil import VIGIL

CAMERA = "cameras:\n  - id: line1\n    source: {type: synthetic}\n"
RULE = "rules:\n  - id: offline\n    cameras: all\n    condition: {type: camera_offline}\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """'Billion laughs': each level is `width` aliases of the one before; `levels` levels stand for width**levels."""
    lines = ['l0: &l0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + f"\ncameras: *l{levels}\n"


HOSTILE: list[tuple[str, bytes, str]] = [
    ("cameras-not-a-list", b"cameras: 5\n", "cameras: Input should be a valid list"),
    ("rules-not-a-list", b"rules: 5\n", "rules: Input should be a valid list"),
    ("camera-id-a-list", b"cameras:\n  - id: [1, 2]\n    source: {type: synthetic}\n", "cameras[0].id:"),
    ("camera-id-a-mapping", b"cameras:\n  - id: {a: 1}\n    source: {type: synthetic}\n", "cameras[0].id:"),
    ("rule-camera-a-list", (CAMERA + "rules:\n  - id: r\n    cameras: [[line1]]\n    condition: "
                            "{type: camera_offline}\n").encode(), "rules[0].cameras[0]:"),
    ("camera-entry-a-list", b"cameras: [[line1]]\n", "cameras[0]:"),
    ("non-string-top-key", b"1: 2\n", "(root): keys must be names"),
    ("non-string-nested-key", b"api: {1: 2}\n", "api: keys must be names"),
    ("not-utf8", b"cameras: \xff\xfe\n", "(file): not UTF-8 text (byte 0xff"),
    ("nul-byte", b"\x00cameras: []\n", "(file): not valid YAML"),
    ("deep-brackets", b"[" * 5000 + b"\n", "(file): nested"),
    ("deep-mappings", ("a:\n" + "".join(" " * i + "  b:\n" for i in range(60))).encode(), "(file): nested"),
    ("root-a-list", b"- 1\n- 2\n", "(root): must be a mapping"),
    ("root-a-string", b"hello\n", "(root): must be a mapping"),
    ("not-yaml", b"cameras: [\n", "(file): not valid YAML"),
    ("unhashable-key", b"? [1, 2]\n: 3\n", "(file): not valid YAML"),
    ("alias-bomb", alias_bomb().encode(), f"expands to more than {MAX_VALUES} values"),
    ("recursive-alias", b"a: &a [*a]\ncameras: *a\n", "(file):"),
    ("public-bind-no-token", b"api: {host: 0.0.0.0}\n", "api.token: api.host is '0.0.0.0'"),
    ("blank-token", b"api: {token: '   '}\n", "api.token: Value is blank"),
    ("token-with-newline", b"api: {token: \"a\\nb\"}\n", "api.token: must be printable ASCII"),
    ("bad-port-in-url", (b"cameras:\n  - id: c\n    source: {type: rtsp, url: 'rtsp://host:99999/s'}\n"),
     "cameras[0].source.url: has a port outside"),
    ("raw-slash-in-password", b"cameras:\n  - id: c\n    source: {type: rtsp, url: 'rtsp://u:p/w@host/s'}\n",
     "cameras[0].source.url: does not parse as a URL"),
    ("nul-in-state-dir", b"state_dir: \"st\\0ate\"\n", "state_dir: holds a NUL byte"),
    ("nul-in-file-path", b"cameras:\n  - id: c\n    source: {type: file, path: \"a\\0.mp4\"}\n",
     "cameras[0].source.path: holds a NUL byte"),
    ("nul-in-model-path", b"engine: {model_path: \"/models/\\0\"}\n", "engine.model_path: holds a NUL byte"),
    ("id-read-as-false", (CAMERA + "rules:\n  - id: off\n    cameras: all\n    condition: {type: camera_offline}\n"
                          ).encode(), "rules[0].id: Input should be a valid string; YAML reads yes/no/on/off"),
    ("redis-url-garbage", b"redis: {url: 'redis://:pa/ss@host:6379/0'}\n", "redis.url: does not parse as a URL"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in HOSTILE], ids=[n for n, _, _ in HOSTILE])
def test_a_hostile_config_is_refused_with_its_key_path(tmp_path: Path, text: bytes, expected: str) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert expected.replace("Value is blank", "is blank") in str(caught.value)
    assert "pa/ss" not in str(caught.value) and "p/w" not in str(caught.value)


def test_the_bomb_bound_leaves_room_for_a_large_real_config(tmp_path: Path) -> None:
    cameras = "".join(f"  - id: cam{i}\n    source: {{type: synthetic}}\n" for i in range(400))
    rules = "".join(f"  - id: offline{i}\n    cameras: all\n    condition: {{type: camera_offline}}\n"
                    for i in range(100))
    path = tmp_path / "big.yaml"
    path.write_text(f"cameras:\n{cameras}rules:\n{rules}")
    assert len(load_settings(path).cameras) == 400
    assert MAX_DEPTH >= 8


def test_a_broken_environment_override_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_CAMERAS", "[{")
    path = tmp_path / "vigil.yaml"
    path.write_text(CAMERA)
    with pytest.raises(ConfigError, match=r"VIGIL_CAMERAS \(environment\): cannot be parsed"):
        load_settings(path)


def vigil(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alias-bomb", "deep-brackets", "not-utf8", "non-string-top-key",
                                  "public-bind-no-token", "nul-in-state-dir"])
def test_check_config_and_run_refuse_alike_with_exit_2(tmp_path: Path, name: str) -> None:
    text = next(t for n, t, _ in HOSTILE if n == name)
    path = tmp_path / "vigil.yaml"
    path.write_bytes(text)
    checked, ran = vigil("check-config", str(path)), vigil("run", "--config", str(path))
    for done in (checked, ran):
        assert done.returncode == 2, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    assert checked.stderr == ran.stderr  # one validation, one message


@pytest.mark.slow
def test_run_names_a_state_dir_it_cannot_create_without_a_traceback(tmp_path: Path) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("not a directory\n")
    path = tmp_path / "vigil.yaml"
    path.write_text(f"state_dir: {taken}\napi: {{port: 0}}\nredis: {{embedded_port: 0}}\n")
    done = vigil("run", "--config", str(path))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"state_dir '{taken}' cannot be used as a directory (a file is there)" in done.stderr


@pytest.mark.parametrize(("text", "warning"), [
    ("", "no enabled camera"),
    ("cameras: []\n" + RULE, "no enabled camera"),
    (CAMERA + "rules: []\n", "no enabled rule"),
    (CAMERA.replace("source:", "enabled: false\n    source:") + RULE, "no enabled camera"),
])
def test_a_config_that_watches_nothing_is_valid_with_a_warning(tmp_path: Path, text: str, warning: str) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    done = vigil("check-config", str(path))
    assert done.returncode == 0, done.stderr
    assert f"warning: {warning}" in done.stderr and ": valid" in done.stdout
