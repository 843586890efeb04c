"""load_model / save_model: presets with seeded random weights, or a local checkpoint directory; never the network."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import structlog
import torch
from transformers.models.qwen2.modeling_qwen2 import Qwen2RotaryEmbedding

from engine.api import ModelIdentity
from engine.model import checkpoint, metrics
from engine.model.errors import CheckpointError
from engine.model.hf_config import config_json, spec_from_config
from engine.model.names import from_checkpoint, to_checkpoint
from engine.model.network import VideoXL2
from engine.model.prompt import build_prompt
from engine.model.spec import PRESETS, ModelSpec, preset_spec
from engine.model.tokenizer import load_tokenizer, tiny_tokenizer
from engine.model.weights import fingerprint, init_random

log = structlog.get_logger(__name__)

CONFIG_FILE = "config.json"
RANDOM_MARK = "vigil_random_weights"  # config.json key save_model writes: these weights were never trained
_VOCAB_MULTIPLE = 64  # vocab rows are padded like Qwen's (152064 rows for 151665 tokens)


def load_model(path_or_preset: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               seed: int = 0, random_weights: bool = False) -> VideoXL2:
    """A ready, frozen model in eval mode. `tiny`/`bench`: seeded random weights; a directory: its checkpoint.

    `videoxl2` is the released size; it needs a directory, or `random_weights=True` (benchmarks only).
    """
    started = time.perf_counter()
    target = torch.device(device)
    source = str(path_or_preset)
    preset = source if isinstance(path_or_preset, str) and source in PRESETS else None  # a Path is a directory
    if preset in ("tiny", "bench") or (preset == "videoxl2" and random_weights):
        model = build_random(preset_spec(source), target, dtype, seed)
    elif preset == "videoxl2":
        raise CheckpointError("model 'videoxl2' needs a checkpoint directory (engine.model_path), "
                              "or random_weights=True for a benchmark")
    else:
        model = _finish(_checkpoint_model(Path(source), target, dtype))
    model.identity = _identity(model, None if preset else Path(source))
    metrics.MODEL_LOAD_SECONDS.labels(model.spec.preset).set(time.perf_counter() - started)
    log.info("model_loaded", source=source, preset=model.spec.preset, device=str(target), dtype=str(dtype),
             fingerprint=model.spec.fingerprint, seconds=round(time.perf_counter() - started, 3))
    return model


def save_model(model: VideoXL2, directory: Path, max_shard_bytes: int = 4 * 2**30) -> None:
    """Write config.json, tokenizer files and sharded safetensors under Video-XL-2's key names."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {to_checkpoint(name): tensor for name, tensor in model.state_dict().items()}
    checkpoint.write_shards(state, directory, max_shard_bytes)
    config = {**config_json(model.spec), RANDOM_MARK: not model.identity.trained}  # a saved random model stays one
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    model.tokenizer.save_pretrained(str(directory))
    log.info("model_saved", directory=str(directory), tensors=len(state), fingerprint=model.spec.fingerprint)


def _identity(model: VideoXL2, directory: Path | None) -> ModelIdentity:
    """Random weights are never 'trained'; a checkpoint directory is, unless save_model wrote it from random ones."""
    spec = model.spec
    if directory is None:
        return ModelIdentity(spec.preset, None, spec.fingerprint, trained=False)
    random = bool(_read_config(directory).get(RANDOM_MARK, False))
    return ModelIdentity(spec.preset, str(directory), spec.fingerprint, trained=not random)


def build_skeleton(spec: ModelSpec) -> VideoXL2:
    """The module tree on the meta device: names and shapes without memory or initialisation cost."""
    with torch.device("meta"):
        return VideoXL2(spec.validate())


def checkpoint_shapes(model: VideoXL2) -> dict[str, tuple[int, ...]]:
    """Video-XL-2 key -> shape for every tensor the model's state dict holds."""
    return {to_checkpoint(name): tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def build_random(spec: ModelSpec, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 seed: int = 0) -> VideoXL2:
    """Any spec with seeded random weights and the tiny tokenizer (vocab_size 0: sized from the tokenizer)."""
    tokenizer = tiny_tokenizer()
    if spec.vocab_size == 0:
        spec = dataclasses.replace(spec, vocab_size=_padded(len(tokenizer)))
    model = build_skeleton(spec).to(dtype).to_empty(device=torch.device(device))  # cast on meta: no fp32 copy
    init_random(model, seed)
    _attach_text(model, tokenizer)
    return _finish(model)


def _padded(size: int) -> int:
    return -(-size // _VOCAB_MULTIPLE) * _VOCAB_MULTIPLE


def _checkpoint_model(directory: Path, device: torch.device, dtype: torch.dtype) -> VideoXL2:
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist (model presets: tiny, bench, "
                              "videoxl2)")
    spec = spec_from_config(_read_config(directory), directory / CONFIG_FILE)
    model = build_skeleton(spec)
    files = checkpoint.shard_map(directory)
    keys = checkpoint.check_keys(files, checkpoint_shapes(model), spec.vision_layers, directory)
    state = {_our_name(key): tensor for key, tensor in checkpoint.read_tensors(files, keys, device, dtype)}
    model.load_state_dict(state, strict=True, assign=True)
    _attach_text(model, load_tokenizer(directory))
    return model


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        config: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}; a checkpoint directory needs a JSON config.json") from exc
    return config


def _our_name(key: str) -> str:
    name = from_checkpoint(key)
    if name is None:  # check_keys only passes keys that map; this guards the invariant
        raise CheckpointError(f"checkpoint key {key} has no module to load into")
    return name


def _attach_text(model: VideoXL2, tokenizer: Any) -> None:
    if len(tokenizer) > model.spec.vocab_size:
        raise CheckpointError(f"the tokenizer has {len(tokenizer)} tokens but the model only "
                              f"{model.spec.vocab_size} embedding rows")
    model.tokenizer = tokenizer
    model.prompt = build_prompt(tokenizer)


def _finish(model: VideoXL2) -> VideoXL2:
    """Rebuild the buffers the meta skeleton could not hold, freeze, and fingerprint the weights."""
    device = model.device
    embeddings = model.vision.siglip.embeddings
    positions = torch.arange(embeddings.num_positions, device=device).expand((1, -1))
    embeddings.register_buffer("position_ids", positions, persistent=False)
    # Built off the meta device and kept in fp32: RoPE frequencies must not be rounded to bf16.
    model.lm.model.rotary_emb = Qwen2RotaryEmbedding(config=model.lm.config).to(device)
    stale = [name for name, buffer in model.named_buffers() if buffer.is_meta]
    if stale:
        raise CheckpointError(f"internal: buffers left on the meta device: {stale}")
    model.eval().requires_grad_(False)
    model.spec = dataclasses.replace(model.spec, fingerprint=fingerprint(model.spec, model))
    return model
