"""The released dimensions built on the meta device carry exactly the checkpoint's names and shapes."""

from __future__ import annotations

import torch

from engine.model import build_skeleton, checkpoint_shapes, preset_spec

Shapes = dict[str, tuple[int, ...]]
VISION = "model.vision_tower.vision_tower.vision_model."


def _llm_table() -> Shapes:
    table: Shapes = {"model.embed_tokens.weight": (152064, 3584), "model.norm.weight": (3584,),
                     "lm_head.weight": (152064, 3584)}
    for i in range(28):
        p = f"model.layers.{i}."
        table |= {
            p + "self_attn.q_proj.weight": (3584, 3584), p + "self_attn.q_proj.bias": (3584,),
            p + "self_attn.k_proj.weight": (512, 3584), p + "self_attn.k_proj.bias": (512,),
            p + "self_attn.v_proj.weight": (512, 3584), p + "self_attn.v_proj.bias": (512,),
            p + "self_attn.o_proj.weight": (3584, 3584),
            p + "mlp.gate_proj.weight": (18944, 3584), p + "mlp.up_proj.weight": (18944, 3584),
            p + "mlp.down_proj.weight": (3584, 18944),
            p + "input_layernorm.weight": (3584,), p + "post_attention_layernorm.weight": (3584,),
        }
    return table


def _vision_table() -> Shapes:
    table: Shapes = {
        VISION + "embeddings.patch_embedding.weight": (1152, 3, 14, 14),
        VISION + "embeddings.patch_embedding.bias": (1152,),
        VISION + "embeddings.position_embedding.weight": (729, 1152),
        VISION + "post_layernorm.weight": (1152,), VISION + "post_layernorm.bias": (1152,),
    }
    for j in range(26):
        p = f"{VISION}encoder.layers.{j}."
        for proj in ("q", "k", "v", "out"):
            table |= {f"{p}self_attn.{proj}_proj.weight": (1152, 1152), f"{p}self_attn.{proj}_proj.bias": (1152,)}
        for norm in ("layer_norm1", "layer_norm2"):
            table |= {f"{p}{norm}.weight": (1152,), f"{p}{norm}.bias": (1152,)}
        table |= {p + "mlp.fc1.weight": (4304, 1152), p + "mlp.fc1.bias": (4304,),
                  p + "mlp.fc2.weight": (1152, 4304), p + "mlp.fc2.bias": (1152,)}
    return table


def _dts_and_projector_table() -> Shapes:
    table: Shapes = {"model.sae.temporal_encoding": (4, 1152),
                     "model.mm_projector.0.weight": (3584, 1152), "model.mm_projector.0.bias": (3584,),
                     "model.mm_projector.2.weight": (3584, 3584), "model.mm_projector.2.bias": (3584,)}
    for s in (0, 3):
        table |= {f"model.sae.encoder.{s}.norm.weight": (1152,), f"model.sae.encoder.{s}.norm.bias": (1152,)}
        for proj in ("q", "k", "v", "proj_out"):
            table |= {f"model.sae.encoder.{s}.{proj}.weight": (1152, 1152, 1, 1, 1),
                      f"model.sae.encoder.{s}.{proj}.bias": (1152,)}
    for s in (1, 4):
        p = f"model.sae.encoder.{s}."
        table |= {p + "norm.weight": (1152,), p + "norm.bias": (1152,),
                  p + "qkv.weight": (3456, 1152, 1), p + "qkv.bias": (3456,),
                  p + "relative_position_k.embeddings_table": (129, 1152),
                  p + "relative_position_v.embeddings_table": (129, 1152),
                  p + "proj_out.weight": (1152, 1152, 1), p + "proj_out.bias": (1152,)}
    for s in (2, 5):
        table |= {f"model.sae.encoder.{s}.conv.weight": (1152, 1152, 3, 3, 3),
                  f"model.sae.encoder.{s}.conv.bias": (1152,)}
    return table


def test_videoxl2_dimensions_on_meta_match_the_checkpoint_tables_exactly() -> None:
    model = build_skeleton(preset_spec("videoxl2"))
    expected = _llm_table() | _vision_table() | _dts_and_projector_table()
    actual = checkpoint_shapes(model)
    assert sorted(set(actual) - set(expected)) == []
    assert sorted(set(expected) - set(actual)) == []
    assert {k: v for k, v in actual.items() if expected[k] != v} == {}
    assert all(p.is_meta for p in model.parameters())


def test_videoxl2_parameter_count_matches_the_reference_split() -> None:
    model = build_skeleton(preset_spec("videoxl2"))

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    assert round(count(model.dts) / 1e6, 2) == 93.53
    assert round(count(model.lm) / 1e9, 3) == 7.616
    assert round(count(model.projector) / 1e6, 0) == 17
