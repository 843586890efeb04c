"""Checkpoints: a tiny model round-trips through sharded safetensors; bad checkpoints fail precisely; no network."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import structlog
import torch
from safetensors.torch import load_file, save_file
from transformers import DynamicCache

from engine.model import CheckpointError, VideoXL2, load_model, save_model

INDEX = "model.safetensors.index.json"


@pytest.fixture(scope="module")
def saved_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model: VideoXL2) -> Path:
    directory = tmp_path_factory.mktemp("tiny_ckpt")
    save_model(tiny_model, directory, max_shard_bytes=64 * 1024)
    return directory


@pytest.fixture
def copy_dir(saved_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ckpt"
    target.mkdir()
    for file in saved_dir.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


def _outputs(model: VideoXL2) -> tuple[torch.Tensor, torch.Tensor]:
    frames = [np.full((40, 60, 3), 30 * i, dtype=np.uint8) for i in range(8)]
    tokens = model.encode_groups(model.preprocess(frames))
    ids = model.prompt.prefix_ids + model.prompt.timestamp_ids(0.0)
    embeds = torch.cat([model.embed(ids), tokens[0], model.embed(model.prompt.question_ids("Is it on?"))])
    return tokens, model.lm_forward(embeds[None], DynamicCache(config=model.lm.config))


def _edit_shard(directory: Path, key: str, edit: str, value: torch.Tensor | None = None) -> None:
    index = json.loads((directory / INDEX).read_text())
    shard = directory / index["weight_map"][key]
    tensors = load_file(str(shard))
    if edit == "drop":
        del tensors[key]
        del index["weight_map"][key]
    else:
        tensors[edit] = value if value is not None else tensors[key].clone()
        index["weight_map"][edit] = shard.name
    save_file(tensors, str(shard))
    (directory / INDEX).write_text(json.dumps(index))


def test_saved_tiny_model_is_sharded_with_videoxl2_names(saved_dir: Path) -> None:
    weight_map = json.loads((saved_dir / INDEX).read_text())["weight_map"]
    assert len(set(weight_map.values())) > 1
    assert "model.sae.encoder.1.relative_position_k.embeddings_table" in weight_map
    assert "model.vision_tower.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight" in weight_map
    assert {"lm_head.weight", "model.mm_projector.2.weight", "model.embed_tokens.weight"} <= set(weight_map)
    assert (saved_dir / "config.json").is_file() and (saved_dir / "tokenizer.json").is_file()


def test_round_trip_loads_identical_weights_outputs_and_fingerprint(saved_dir: Path, tiny_model: VideoXL2) -> None:
    loaded = load_model(saved_dir)
    assert loaded.spec == tiny_model.spec
    assert loaded.prompt.prefix_ids == tiny_model.prompt.prefix_ids
    assert loaded.prompt.question_ids("Is it on?") == tiny_model.prompt.question_ids("Is it on?")
    for ours, theirs in zip(_outputs(loaded), _outputs(tiny_model), strict=True):
        assert torch.equal(ours, theirs)


def test_other_seed_changes_the_fingerprint(tiny_model: VideoXL2) -> None:
    assert load_model("tiny", seed=1).spec.fingerprint != tiny_model.spec.fingerprint
    assert load_model("tiny", seed=0).spec.fingerprint == tiny_model.spec.fingerprint


def test_missing_key_is_named(copy_dir: Path) -> None:
    _edit_shard(copy_dir, "model.sae.encoder.4.qkv.bias", "drop")
    with pytest.raises(CheckpointError, match=r"1 missing key\(s\): model\.sae\.encoder\.4\.qkv\.bias"):
        load_model(copy_dir)


def test_unexpected_key_is_named(copy_dir: Path) -> None:
    _edit_shard(copy_dir, "model.norm.weight", "model.norm.extra_scale")
    with pytest.raises(CheckpointError, match=r"1 unexpected key\(s\): model\.norm\.extra_scale"):
        load_model(copy_dir)


def test_wrong_shape_is_named_with_both_shapes(copy_dir: Path) -> None:
    _edit_shard(copy_dir, "model.mm_projector.0.bias", "model.mm_projector.0.bias", torch.zeros(7))
    expected = r"model\.mm_projector\.0\.bias \(checkpoint \[7\], model expects \[64\]\)"
    with pytest.raises(CheckpointError, match=expected):
        load_model(copy_dir)


def test_known_unused_keys_are_ignored_with_a_log_line(copy_dir: Path, saved_dir: Path) -> None:
    dropped_layer = "model.vision_tower.vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight"
    _edit_shard(copy_dir, "model.norm.weight", "model.text_mlp.0.weight", torch.zeros(64, 64))
    _edit_shard(copy_dir, "model.norm.weight", dropped_layer, torch.zeros(64, 32))
    with structlog.testing.capture_logs() as logs:
        loaded = load_model(copy_dir)
    ignored = [entry for entry in logs if entry["event"] == "checkpoint_keys_ignored"]
    assert len(ignored) == 1 and ignored[0]["keys"] == sorted([dropped_layer, "model.text_mlp.0.weight"])
    assert loaded.spec.fingerprint == load_model(saved_dir).spec.fingerprint


def test_missing_directory_and_broken_shard_fail_clearly(copy_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    shard = sorted(copy_dir.glob("model-*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"cannot read weights file .*{shard.name}"):
        load_model(copy_dir)


def test_videoxl2_without_a_directory_asks_for_one() -> None:
    with pytest.raises(CheckpointError, match="needs a checkpoint directory"):
        load_model("videoxl2")


@pytest.fixture
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise OSError("network access attempted during an offline load")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def test_loading_opens_no_network_connection(saved_dir: Path, socket_guard: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the loader must be offline by itself, not by env
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    load_model(saved_dir)
    load_model("tiny", seed=5)
    assert socket_guard == []


def test_the_model_says_whether_its_weights_were_trained(tiny_model: VideoXL2, copy_dir: Path) -> None:
    assert (tiny_model.identity.preset, tiny_model.identity.trained) == ("tiny", False)
    assert tiny_model.identity.checkpoint is None and tiny_model.identity.fingerprint == tiny_model.spec.fingerprint
    saved = load_model(copy_dir)  # a checkpoint written from random weights stays untrained
    assert not saved.identity.trained and saved.identity.checkpoint == str(copy_dir)
    assert saved.identity.label.startswith("UNTRAINED tiny model from")
    config = json.loads((copy_dir / "config.json").read_text())
    del config["vigil_random_weights"]  # what a released checkpoint's config looks like: no such mark
    (copy_dir / "config.json").write_text(json.dumps(config))
    released = load_model(copy_dir)
    assert released.identity.trained and "UNTRAINED" not in released.identity.label
