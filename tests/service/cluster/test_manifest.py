"""The KubeRay manifest is valid YAML, and the Vigil config it carries validates as a cluster config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config.loader import load_settings

MANIFEST = Path(__file__).resolve().parents[3] / "docker" / "kuberay-raycluster.yaml"


def test_kuberay_manifest_carries_a_valid_cluster_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = list(yaml.safe_load_all(MANIFEST.read_text()))
    kinds = {d["kind"] for d in docs}
    assert {"RayCluster", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service", "Secret"} <= kinds
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["cluster.yaml"]
    for name in ("VIGIL_API_TOKEN", "CAM_PASSWORD"):
        monkeypatch.setenv(name, "secret")
    path = tmp_path / "cluster.yaml"
    path.write_text(config)
    settings = load_settings(path)
    assert settings.cluster.shared_state and settings.cluster.node_gpus == 1 and settings.redis.url is not None
    ray_cluster = next(d for d in docs if d["kind"] == "RayCluster")
    workers = ray_cluster["spec"]["workerGroupSpecs"][0]
    assert settings.cluster.node_resource in workers["rayStartParams"]["resources"]
