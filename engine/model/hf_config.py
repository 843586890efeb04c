"""config.json of a checkpoint directory <-> ModelSpec.

The released config carries the Qwen2 keys and the `mm_*` keys of LLaVA; it names the vision tower but not its
sizes. Directories Vigil writes add a `vigil_vision` section; without one the tower is SigLIP-SO400M, the only
tower Video-XL-2 ships.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine.model.errors import CheckpointError
from engine.model.spec import ModelSpec, preset_spec

_VISION_FIELDS = ("image_size", "patch_size", "vision_hidden", "vision_intermediate", "vision_heads",
                  "vision_layers", "grid", "dts_norm_groups", "dts_max_relative")
_LM_KEYS = {"hidden_size": "hidden_size", "intermediate_size": "intermediate_size",
            "num_layers": "num_hidden_layers", "num_heads": "num_attention_heads",
            "num_kv_heads": "num_key_value_heads", "vocab_size": "vocab_size",
            "max_positions": "max_position_embeddings", "rms_eps": "rms_norm_eps"}


def config_json(spec: ModelSpec) -> dict[str, Any]:
    lm = {theirs: getattr(spec, ours) for ours, theirs in _LM_KEYS.items()}
    return {
        "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava_qwen", **lm,
        "rope_theta": spec.rope_theta, "hidden_act": "silu", "tie_word_embeddings": False,
        "mm_hidden_size": spec.vision_hidden, "mm_projector_type": "mlp2x_gelu",
        "mm_vision_tower": "google/siglip-so400m-patch14-384", "mm_spatial_pool_stride": 2,
        "mm_spatial_pool_mode": "average", "mm_patch_merge_type": "unires", "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False, "vigil_preset": spec.preset,
        "vigil_vision": {name: getattr(spec, name) for name in _VISION_FIELDS},
    }


def spec_from_config(config: dict[str, Any], path: Path) -> ModelSpec:
    lm: dict[str, Any] = {ours: _required(config, theirs, path) for ours, theirs in _LM_KEYS.items()}
    lm["rope_theta"] = float(_rope_theta(config, path))
    vision = _vision_dims(config, path)
    if config.get("tie_word_embeddings"):
        raise CheckpointError(f"{path}: tie_word_embeddings=true is not supported; Video-XL-2 has its own lm_head")
    spec = dataclasses.replace(preset_spec("videoxl2"), preset=str(config.get("vigil_preset", "videoxl2")),
                               **lm, **vision)
    return spec.validate()


def _required(config: dict[str, Any], key: str, path: Path) -> Any:
    if key not in config:
        raise CheckpointError(f"{path}: key {key!r} is missing; is this a Video-XL-2 (llava_qwen) config?")
    return config[key]


def _rope_theta(config: dict[str, Any], path: Path) -> Any:
    if "rope_theta" in config:
        return config["rope_theta"]
    params = config.get("rope_parameters") or {}
    return _required(params, "rope_theta", path)


def _vision_dims(config: dict[str, Any], path: Path) -> dict[str, Any]:
    section = config.get("vigil_vision")
    if section is None:
        so400m = preset_spec("videoxl2")
        if config.get("mm_hidden_size", so400m.vision_hidden) != so400m.vision_hidden:
            raise CheckpointError(
                f"{path}: mm_hidden_size {config['mm_hidden_size']} is not SigLIP-SO400M's {so400m.vision_hidden}; "
                "add a 'vigil_vision' section with the tower's sizes"
            )
        return {name: getattr(so400m, name) for name in _VISION_FIELDS}
    missing = [name for name in _VISION_FIELDS if name not in section]
    if missing:
        raise CheckpointError(f"{path}: vigil_vision lacks {missing}")
    return {name: section[name] for name in _VISION_FIELDS}
