"""The README's config example is a real config: it must keep validating as the settings change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.loader import load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_yaml_example_in_the_readme_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_PASSWORD", "VIGIL_API_TOKEN", "CAM_PASSWORD"):
        monkeypatch.setenv(name, "secret")
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows no YAML example"
    for i, block in enumerate(blocks):
        path = tmp_path / f"readme-{i}.yaml"
        path.write_text(block)
        load_settings(path)  # raises ConfigError naming every invalid key
