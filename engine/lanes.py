"""The language model over several cameras at once: each camera's new tokens ("a lane") attend to its own context.

Projections and MLP run on the lanes' tokens packed one after another ([N, D], no padding: they are per-token).
Attention runs padded, one batch row per lane: the scratch holds each lane's context at slots [0, S_b) and its new
tokens' keys at [S_b, S_b + T_b); a per-lane additive mask opens exactly those slots (the lane's own tokens by its
own mask: causal for a prefill, block-causal for packed questions), so a lane computes what it would alone
(tests/engine/test_batching.py holds lanes equal to one camera at a time within float rounding).

Positions are per token, so each lane keeps its own stream or view positions. PyTorch SDPA with an explicit mask
(on CUDA the memory-efficient kernel; on CPU the fused one); grouped-query heads become extra query rows, so the
KV is never repeated and no kernel has to support GQA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Qwen2ForCausalLM

from engine.chunk_rule import Context
from engine.layers import StepOutput, lm_dims, project_qkv
from engine.rope import rope_tables, rotate
from engine.steps import Steps

_ALIGN = 16  # key slots rounded up so the mask's rows are aligned for CUDA's memory-efficient SDPA kernel


@dataclass(frozen=True)
class Lane:
    """One camera's new tokens in a batched forward."""

    x: torch.Tensor  # [T, D] input embeddings
    positions: torch.Tensor  # [T] positions (long) the tokens take in their own sequence
    own: torch.Tensor  # [T, T] boolean: which of the lane's new tokens each may attend to

    @property
    def tokens(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class LaneScratch:
    """Post-RoPE keys and values of every lane's context, padded to one capacity; new keys are written after
    each lane's own context. Zero-filled, so padding slots (masked out) can never inject NaN into the output."""

    k: torch.Tensor  # [L, B, Hkv, Cap, Dh]
    v: torch.Tensor  # [L, B, Hkv, Cap, Dh]
    lengths: tuple[int, ...]  # S_b: context length of each lane


def scratch_for_contexts(lm: Qwen2ForCausalLM, contexts: Sequence[Context], lanes: Sequence[Lane]) -> LaneScratch:
    """Rotate each lane's pre-RoPE context keys to its positions, straight into the padded buffer."""
    k, v = _empty(lm, contexts[0].k, [c.length for c in contexts], lanes)
    for b, ctx in enumerate(contexts):
        if ctx.length:
            cos, sin = rope_tables(lm, ctx.positions, ctx.k)
            rotate(ctx.k, cos, sin, out=k[:, b, :, : ctx.length])
            v[:, b, :, : ctx.length] = ctx.v
    return LaneScratch(k, v, tuple(c.length for c in contexts))


def scratch_for_rotated(
    lm: Qwen2ForCausalLM, keys: Sequence[torch.Tensor], values: Sequence[torch.Tensor], lanes: Sequence[Lane]
) -> LaneScratch:
    """Copy already rotated contexts (question views, [L, Hkv, S_b, Dh] each) into the padded buffer."""
    lengths = [int(k.shape[2]) for k in keys]
    k_buf, v_buf = _empty(lm, keys[0], lengths, lanes)
    for b, (k, v) in enumerate(zip(keys, values, strict=True)):
        k_buf[:, b, :, : lengths[b]] = k
        v_buf[:, b, :, : lengths[b]] = v
    return LaneScratch(k_buf, v_buf, tuple(lengths))


def _empty(
    lm: Qwen2ForCausalLM, like: torch.Tensor, lengths: Sequence[int], lanes: Sequence[Lane]
) -> tuple[torch.Tensor, torch.Tensor]:
    dims = lm_dims(lm)
    capacity = max(s + lane.tokens for s, lane in zip(lengths, lanes, strict=True))
    capacity = -(-capacity // _ALIGN) * _ALIGN
    shape = (like.shape[0], len(lanes), dims.kv_heads, capacity, dims.head_dim)
    return like.new_zeros(shape), like.new_zeros(shape)


@dataclass(frozen=True)
class _Index:
    """Where each packed token goes: its lane, its row in the lane, its key slot in the scratch."""

    lane: torch.Tensor  # [N] long
    row: torch.Tensor  # [N] long
    slot: torch.Tensor  # [N] long
    rows: int  # Tmax


def _index(lanes: Sequence[Lane], lengths: Sequence[int], device: torch.device) -> _Index:
    lane = torch.cat([torch.full((x.tokens,), b, dtype=torch.long) for b, x in enumerate(lanes)])
    row = torch.cat([torch.arange(x.tokens) for x in lanes])
    slot = torch.cat([s + torch.arange(x.tokens) for s, x in zip(lengths, lanes, strict=True)])
    rows = max(x.tokens for x in lanes)
    return _Index(lane.to(device), row.to(device), slot.to(device), rows)


def lane_bias(lanes: Sequence[Lane], scratch: LaneScratch, rows: int, dtype: torch.dtype) -> torch.Tensor:
    """Additive mask [B, 1, Tmax, Cap]: a lane's row sees its context and, by its own mask, its new tokens; padded
    rows see slot 0 only (their output is discarded; a fully masked row would be NaN)."""
    device = scratch.k.device
    allowed = torch.zeros(len(lanes), rows, scratch.k.shape[3], dtype=torch.bool, device=device)
    for b, (lane, length) in enumerate(zip(lanes, scratch.lengths, strict=True)):
        allowed[b, : lane.tokens, :length] = True
        allowed[b, : lane.tokens, length : length + lane.tokens] = lane.own.to(device)
        allowed[b, lane.tokens :, 0] = True
    bias = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill_(~allowed, float("-inf"))
    return bias[:, None]


def run_lanes(
    lm: Qwen2ForCausalLM, lanes: Sequence[Lane], scratch: LaneScratch, stop: int | None = None
) -> Steps[list[StepOutput]]:
    """Run every lane through the layers (the first `stop` only, if given), yielding after each layer; returns
    one StepOutput per lane (residual states [T_b, D], pre-RoPE keys and values [L, Hkv, T_b, Dh])."""
    x = torch.cat([lane.x for lane in lanes])  # [N, D]
    index = _index(lanes, scratch.lengths, x.device)
    cos, sin = rope_tables(lm, torch.cat([lane.positions for lane in lanes]), x)  # [N, Dh]
    rep = lm_dims(lm).q_heads // lm_dims(lm).kv_heads
    bias = lane_bias(lanes, scratch, index.rows, x.dtype).repeat(1, 1, rep, 1)  # [B, 1, rep * Tmax, Cap]
    keys, values, h = [], [], x[None]  # h: [1, N, D]
    for i, layer in enumerate(lm.model.layers[:stop]):
        h, k_pre, v = _layer(layer, h, (cos, sin), scratch, i, index, bias)
        keys.append(k_pre)
        values.append(v)
        yield
    k_all, v_all = torch.stack(keys), torch.stack(values)  # [L, Hkv, N, Dh]
    sizes = [lane.tokens for lane in lanes]
    parts = zip(torch.split(h[0], sizes), torch.split(k_all, sizes, 2), torch.split(v_all, sizes, 2), strict=True)
    return [StepOutput(hid, k, v) for hid, k, v in parts]


def _layer(
    layer: Any,  # Qwen2DecoderLayer (untyped upstream)
    h: torch.Tensor,
    rope: tuple[torch.Tensor, torch.Tensor],
    scratch: LaneScratch,
    i: int,
    index: _Index,
    bias: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    attn = layer.self_attn
    q, k_pre, v = project_qkv(attn, layer.input_layernorm(h))  # q: [Hq, N, Dh]; k_pre, v: [Hkv, N, Dh]
    scratch.k[i][index.lane, :, index.slot] = rotate(k_pre, *rope).transpose(0, 1)  # [N, Hkv, Dh]
    scratch.v[i][index.lane, :, index.slot] = v.transpose(0, 1)
    batch, kv_heads, dim = scratch.k.shape[1], scratch.k.shape[2], q.shape[2]
    rep = q.shape[0] // kv_heads
    q_pad = q.new_zeros(batch, index.rows, q.shape[0], dim)  # [B, Tmax, Hq, Dh]
    q_pad[index.lane, index.row] = rotate(q, *rope).transpose(0, 1)
    # GQA as more query rows: query head h = g * rep + r reads KV head g (HF's repeat_kv), so [B, Tmax, Hkv, rep, Dh]
    # -> [B, Hkv, rep * Tmax, Dh] attends to the un-repeated KV with the mask tiled rep times; no kernel needs GQA.
    q_rows = q_pad.view(batch, index.rows, kv_heads, rep, dim).permute(0, 2, 3, 1, 4).reshape(batch, kv_heads, -1, dim)
    out = F.scaled_dot_product_attention(q_rows, scratch.k[i], scratch.v[i], attn_mask=bias, scale=attn.scaling)
    out = out.view(batch, kv_heads, rep, index.rows, dim).permute(0, 3, 1, 2, 4)  # [B, Tmax, Hkv, rep, Dh]
    packed = out.reshape(batch, index.rows, -1, dim)[index.lane, index.row]  # [N, Hq, Dh]
    h = h + attn.o_proj(packed.reshape(1, h.shape[1], -1))
    h = h + layer.mlp(layer.post_attention_layernorm(h))
    return h, k_pre, v
