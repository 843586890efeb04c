"""`vigil run --cluster` refuses a config it cannot serve; the single-machine path never imports Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service.cli import EXIT_CONFIG, main


def test_cluster_mode_without_a_shared_redis_names_the_key(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"), "cluster": {"address": "local"}}))
    # a subprocess: `vigil run` configures the process's logging, which must not outlive this test
    done = subprocess.run([sys.executable, "-m", "service.cli", "run", "--cluster", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_CONFIG
    assert "redis.url" in done.stderr


def test_single_machine_service_never_imports_ray() -> None:
    code = ("import sys, service.cli, service.app, service.wiring, service.api, config.loader;"
            "config.loader.load_settings(); print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_cluster_key_is_refused_with_the_allowed_ones(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"cluster": {"adress": "auto"}}))
    assert main(["check-config", str(config)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "cluster.adress" in err and "address" in err
