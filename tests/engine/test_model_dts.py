"""DTS: the 24x24 shape path, the memory-view layout the weights need, temporal attention against a slow reference."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from engine.model import ModelInputError, VideoXL2, build_random, preset_spec
from engine.model.dts import DTS, group_layout
from engine.model.dts_blocks import SamePadConv3d, TemporalAttention
from engine.model.projector import build_projector, pool_2x2
from engine.model.weights import init_random


def _random_dts(channels: int, groups: int, max_relative: int = 64, seed: int = 0) -> DTS:
    dts = DTS(channels, groups, max_relative)
    init_random(dts, seed)
    with torch.no_grad():  # biases and norm affines start at 0 / 1; perturb so every term of the math is exercised
        for param in dts.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=torch.Generator().manual_seed(param.numel())))
    return dts.eval()


def test_four_frames_become_576_positions_then_144_tokens() -> None:
    dts = _random_dts(channels=8, groups=4)
    projector = build_projector(8, 16)
    features = torch.randn(8, 8, 24, 24)  # two groups of 4 frames: [4G, C, 24, 24]
    with torch.no_grad():
        merged = dts(group_layout(features))
        tokens = pool_2x2(projector(merged), grid=24)
    assert merged.shape == (2, 576, 8)
    assert tokens.shape == (2, 144, 16)


def test_full_model_on_the_real_grid_encodes_a_group_into_144_tokens() -> None:
    spec = dataclasses.replace(preset_spec("tiny"), image_size=54, patch_size=2, grid=24)  # 27x27 -> 24x24 as SigLIP
    model = build_random(spec, seed=1)
    pixels = torch.rand(4, 3, 54, 54) * 2 - 1
    assert model.encode_groups(pixels).shape == (1, 144, spec.hidden_size)


def test_layout_is_a_memory_view_channel_from_frame_and_time_from_channel() -> None:
    g, c, hw = 2, 8, 3
    features = torch.randn(4 * g, c, hw, hw)
    grouped = group_layout(features)
    for group in range(g):
        for frame in range(4):
            for channel in range(c):
                dts_channel, dts_time = (c // 4) * frame + channel // 4, channel % 4
                assert torch.equal(grouped[group, dts_channel, dts_time], features[4 * group + frame, channel])
    clean = features.view(g, 4, c, hw, hw).permute(0, 2, 1, 3, 4)
    assert not torch.equal(grouped, clean)


def test_dts_output_depends_on_the_layout_so_a_clean_permute_gives_another_answer() -> None:
    dts = _random_dts(channels=8, groups=4)
    features = torch.randn(4, 8, 6, 6)
    with torch.no_grad():
        quirk = dts(group_layout(features))
        clean = dts(features.view(1, 4, 8, 6, 6).permute(0, 2, 1, 3, 4).contiguous())
    assert quirk.shape == clean.shape
    assert (quirk - clean).abs().max() > 1e-2


def test_encode_groups_refuses_a_partial_group(tiny_model: VideoXL2) -> None:
    size = tiny_model.spec.image_size
    with pytest.raises(ModelInputError, match="multiple of 4"):
        tiny_model.encode_groups(torch.zeros(6, 3, size, size))


def _slow_temporal_attention(block: TemporalAttention, x: torch.Tensor, textbook: bool = False) -> torch.Tensor:
    """Loops over positions and time steps, written from the reference's prose (videoxl2.md §1.5).

    textbook=True uses the usual relative key term q_i . R_K[clip(j - i)] instead of the released quirk.
    """
    b, c, t, h, w = x.shape
    groups, max_rel = block.norm.num_groups, block.relative_position_k.max_relative
    table_k = block.relative_position_k.embeddings_table
    table_v = block.relative_position_v.embeddings_table
    out = x.clone()
    for bi in range(b):
        for yi in range(h):
            for xi in range(w):
                seq = x[bi, :, :, yi, xi]  # [C, T]
                normed = torch.cat([(part - part.mean()) / torch.sqrt(part.var(unbiased=False) + 1e-6)
                                    for part in torch.split(seq, c // groups)])
                normed = normed * block.norm.weight[:, None] + _bias(block.norm)[:, None]
                qkv = block.qkv.weight[:, :, 0] @ normed + _bias(block.qkv)[:, None]  # [3C, T]
                q, k, v = qkv[:c], qkv[c:2 * c], qkv[2 * c:]
                mixed = torch.zeros(c, t)
                for i in range(t):
                    logits = torch.zeros(t)
                    for j in range(t):
                        query, offset = (q[:, i], j - i) if textbook else (q[:, j], i - j)
                        rel_key = table_k[max(-max_rel, min(max_rel, offset)) + max_rel]
                        logits[j] = q[:, i] @ k[:, j] / math.sqrt(c) + (query * c**-0.25) @ rel_key
                    weights = torch.softmax(logits, dim=0)
                    for j in range(t):
                        rel_value = table_v[max(-max_rel, min(max_rel, j - i)) + max_rel]
                        mixed[:, i] += weights[j] * (v[:, j] + rel_value)
                projected = block.proj_out.weight[:, :, 0] @ mixed + _bias(block.proj_out)[:, None]
                out[bi, :, :, yi, xi] += projected
    return out


def _bias(module: torch.nn.Module) -> torch.Tensor:
    bias = module.bias
    assert isinstance(bias, torch.Tensor)
    return bias


def _random_temporal_block(max_relative: int) -> TemporalAttention:
    block = TemporalAttention(channels=8, norm_groups=2, max_relative=max_relative)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for param in block.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return block.eval()


def test_temporal_attention_matches_a_slow_reference_with_clipped_offsets() -> None:
    block = _random_temporal_block(max_relative=2)  # offsets of +-3 over 4 steps are clipped to +-2
    x = torch.randn(2, 8, 4, 2, 3)
    with torch.no_grad():
        fast, slow = block(x), _slow_temporal_attention(block, x)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


def test_temporal_attention_differs_from_the_textbook_relative_key_term() -> None:
    block = _random_temporal_block(max_relative=2)
    x = torch.randn(1, 8, 4, 1, 2)
    with torch.no_grad():
        fast, textbook = block(x), _slow_temporal_attention(block, x, textbook=True)
    assert (fast - textbook).abs().max() > 1e-2


def test_same_pad_conv_halves_time_and_keeps_a_constant_field_constant() -> None:
    conv = SamePadConv3d(channels=2)
    with torch.no_grad():
        conv.conv.weight.fill_(1.0 / 54)
        _bias(conv.conv).zero_()
        out = conv(torch.full((1, 2, 4, 5, 5), 3.0))
    assert out.shape == (1, 2, 2, 5, 5)
    torch.testing.assert_close(out, torch.full_like(out, 3.0))  # replicate padding: borders see 27 threes too
