"""The dimensions of one Video-XL-2-shaped network, and the three presets Vigil knows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from transformers import Qwen2Config, SiglipVisionConfig

from engine.model.errors import CheckpointError

PRESETS = ("tiny", "bench", "videoxl2")
FRAMES_PER_GROUP = 4  # the DTS merges this many frames into one map; the released weights fix it


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Every size the network is built from. `fingerprint` is filled once weights exist (see fingerprint.py)."""

    preset: str
    # vision trunk (SigLIP); vision_layers counts the layers kept after dropping the last one
    image_size: int
    patch_size: int
    vision_hidden: int
    vision_intermediate: int
    vision_heads: int
    vision_layers: int
    grid: int  # side of the feature map after the bilinear resize (24 in Video-XL-2)
    # DTS; its channel count is the vision hidden size
    dts_norm_groups: int
    dts_max_relative: int
    # language model (Qwen2)
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int
    rope_theta: float
    max_positions: int
    rms_eps: float = 1e-6
    fingerprint: str = ""

    @property
    def native_grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def positions_per_group(self) -> int:
        return self.grid * self.grid

    @property
    def tokens_per_group(self) -> int:
        return (self.grid // 2) ** 2

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def dims(self) -> dict[str, object]:
        """Every field but the fingerprint: what a fingerprint and a saved config.json are built from."""
        out = dataclasses.asdict(self)
        del out["fingerprint"]
        return out

    def validate(self) -> ModelSpec:
        _require(self.grid % 2 == 0, "grid must be even (2x2 pooling after the projector)")
        _require(self.vision_hidden % FRAMES_PER_GROUP == 0, "vision_hidden must be divisible by 4 (DTS layout)")
        _require(self.vision_hidden % self.dts_norm_groups == 0, "vision_hidden must be divisible by dts_norm_groups")
        _require(self.hidden_size % self.num_heads == 0, "hidden_size must be divisible by num_heads")
        _require(self.num_heads % self.num_kv_heads == 0, "num_heads must be divisible by num_kv_heads")
        return self


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise CheckpointError(f"invalid model dimensions: {what}")


_PRESETS: dict[str, ModelSpec] = {
    # Small enough that thousands of frames stream through it on two CPU cores; 9x9 -> 8x8 keeps the resize.
    "tiny": ModelSpec(
        preset="tiny", image_size=36, patch_size=4, vision_hidden=32, vision_intermediate=64, vision_heads=2,
        vision_layers=1, grid=8, dts_norm_groups=8, dts_max_relative=64, hidden_size=64, intermediate_size=128,
        num_layers=2, num_heads=4, num_kv_heads=2, vocab_size=0, rope_theta=1_000_000.0, max_positions=32768,
    ),
    # Real spatial path (384 px, patch 14, 27 -> 24, 144 tokens) and head_dim 128 / GQA 7:1, narrow widths.
    "bench": ModelSpec(
        preset="bench", image_size=384, patch_size=14, vision_hidden=192, vision_intermediate=720, vision_heads=3,
        vision_layers=4, grid=24, dts_norm_groups=32, dts_max_relative=64, hidden_size=896, intermediate_size=4736,
        num_layers=4, num_heads=7, num_kv_heads=1, vocab_size=0, rope_theta=1_000_000.0, max_positions=32768,
    ),
    # The released dimensions: SigLIP-SO400M (27 layers, last dropped) + Qwen2.5-7B-Instruct.
    "videoxl2": ModelSpec(
        preset="videoxl2", image_size=384, patch_size=14, vision_hidden=1152, vision_intermediate=4304,
        vision_heads=16, vision_layers=26, grid=24, dts_norm_groups=32, dts_max_relative=64, hidden_size=3584,
        intermediate_size=18944, num_layers=28, num_heads=28, num_kv_heads=4, vocab_size=152064,
        rope_theta=1_000_000.0, max_positions=32768,
    ),
}


def preset_spec(name: str) -> ModelSpec:
    """The preset's dimensions; a vocab_size of 0 means 'from the tokenizer the preset trains'."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise CheckpointError(
            f"unknown model preset {name!r}: use one of {sorted(_PRESETS)} or a checkpoint directory"
        ) from None


def siglip_config(spec: ModelSpec) -> SiglipVisionConfig:
    kwargs: dict[str, Any] = dict(
        hidden_size=spec.vision_hidden, intermediate_size=spec.vision_intermediate,
        num_hidden_layers=spec.vision_layers, num_attention_heads=spec.vision_heads, image_size=spec.image_size,
        patch_size=spec.patch_size, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh", vision_use_head=False,
        attn_implementation="sdpa",
    )
    return SiglipVisionConfig(**kwargs)


def qwen2_config(spec: ModelSpec) -> Qwen2Config:
    kwargs: dict[str, Any] = dict(
        vocab_size=spec.vocab_size, hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads, max_position_embeddings=spec.max_positions,
        rms_norm_eps=spec.rms_eps, rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        tie_word_embeddings=False, use_sliding_window=False, attn_implementation="sdpa",
    )
    return Qwen2Config(**kwargs)
