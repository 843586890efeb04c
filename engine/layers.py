"""The language model run layer by layer over an explicit KV context (gpt-fast style).

HF's own forward hides keys after RoPE inside its cache; the engine needs the keys *before* RoPE (so a stored key
can be re-positioned exactly) and an attention context it assembles itself (the chunk rule, the question view).
So this module reuses the model's own submodules (norms, projections, rotary embedding, MLP) in the same order as
`Qwen2DecoderLayer`, with SDPA over a scratch buffer the caller owns. The ground-truth tests hold it equal to
`lm(inputs_embeds=..., attention_mask=<4-D mask>)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import Qwen2ForCausalLM

from engine.rope import rope_tables, rotate

DIRECT_ROWS = 256  # query rows (heads folded in) up to which CPU attention is two GEMMs, not the fused kernel


@dataclass(frozen=True, slots=True)
class LmDims:
    layers: int
    q_heads: int
    kv_heads: int
    head_dim: int
    hidden: int


def lm_dims(lm: Qwen2ForCausalLM) -> LmDims:
    cfg: Any = lm.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return LmDims(
        int(cfg.num_hidden_layers), int(cfg.num_attention_heads), int(cfg.num_key_value_heads), int(head_dim),
        int(cfg.hidden_size),
    )


@dataclass
class ScratchKV:
    """A private attention context for one prefill or one question: post-RoPE keys and values at explicit slots.

    Allocated once with room for the tokens the call will add (gpt-fast's static cache), never shared with the
    stored per-chunk KV, so writing into it can never change what the store holds.
    """

    k: torch.Tensor  # [L, Hkv, capacity, Dh] rotated
    v: torch.Tensor  # [L, Hkv, capacity, Dh]
    length: int

    @property
    def capacity(self) -> int:
        return int(self.k.shape[2])


def scratch_from(
    lm: Qwen2ForCausalLM, k_pre: torch.Tensor, v: torch.Tensor, positions: torch.Tensor, extra: int
) -> ScratchKV:
    """Rotate pre-RoPE context keys k_pre [L, Hkv, S, Dh] to `positions` [S]; leave room for `extra` tokens."""
    n_layers, heads, length, dim = k_pre.shape
    k_buf = k_pre.new_empty(n_layers, heads, length + extra, dim)
    v_buf = v.new_empty(n_layers, heads, length + extra, dim)
    if length:
        cos, sin = rope_tables(lm, positions, k_pre)
        rotate(k_pre, cos, sin, out=k_buf[:, :, :length])
        v_buf[:, :, :length] = v
    return ScratchKV(k_buf, v_buf, length)


@dataclass(frozen=True, slots=True)
class StepOutput:
    hidden: torch.Tensor  # [T, D] residual stream after the last layer run (before the final norm)
    k_pre: torch.Tensor  # [L_run, Hkv, T, Dh] keys of the new tokens before RoPE
    v: torch.Tensor  # [L_run, Hkv, T, Dh]


def run_layers(
    lm: Qwen2ForCausalLM,
    x: torch.Tensor,
    positions: torch.Tensor,
    scratch: ScratchKV,
    mask: torch.Tensor,
    stop: int | None = None,
) -> StepOutput:
    """Run x [T, D] at `positions` [T] through the layers (the first `stop` only, if given), attending to
    scratch[:length] and to itself.

    mask [T, length + T] is boolean (True = may attend). The new tokens' rotated KV is written at
    scratch[length : length + T] and `length` advances, so a decoding loop just calls this again.
    """
    start = scratch.length
    cos, sin = rope_tables(lm, positions, x)
    # additive bias built once, not converted from a boolean mask by every layer's SDPA call
    bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill_(~mask, float("-inf"))
    dims = lm_dims(lm)
    bias = bias.repeat(dims.q_heads // dims.kv_heads, 1)  # [rep * T, length + T]: one row per (query head, token)
    keys, values = [], []
    h = x[None]  # [1, T, D]
    for i, layer in enumerate(lm.model.layers[:stop]):
        h, k_pre, v = _layer(layer, h, cos, sin, scratch, i, start, bias)
        keys.append(k_pre)
        values.append(v)
    scratch.length = start + x.shape[0]
    return StepOutput(h[0], torch.stack(keys), torch.stack(values))


def _layer(
    layer: Any,  # Qwen2DecoderLayer (untyped upstream)
    h: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    scratch: ScratchKV,
    index: int,
    start: int,
    bias: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    attn = layer.self_attn
    q, k_pre, v = project_qkv(attn, layer.input_layernorm(h))  # q: [Hq, T, Dh]; k_pre, v: [Hkv, T, Dh]
    end = start + h.shape[1]
    scratch.k[index, :, start:end] = rotate(k_pre, cos, sin)
    scratch.v[index, :, start:end] = v
    heads, tokens, dim = q.shape
    kv_heads = k_pre.shape[0]
    # GQA as more query rows (as in lanes.py): query head g * rep + r reads KV head g, so [Hq, T, Dh] ->
    # [Hkv, rep * T, Dh] attends to the un-repeated KV once per KV head, instead of once per query head
    q_rows = rotate(q, cos, sin).reshape(kv_heads, -1, dim)
    out = attend(q_rows, scratch.k[index, :, :end], scratch.v[index, :, :end], bias, attn.scaling)
    h = h + attn.o_proj(out.view(heads, tokens, dim).transpose(0, 1).reshape(1, tokens, -1))
    h = h + layer.mlp(layer.post_attention_layernorm(h))
    return h, k_pre, v


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(q k^T * scale + bias) v for q [H, R, Dh] over k, v [H, S, Dh] with bias [R, S]: [H, R, Dh].

    A few query rows (a question, a decoded token) on a CPU go as two GEMMs: the fused kernel walks K and V once
    per 32-row block, which over a view of thousands of keys is memory traffic the GEMMs do not pay (30 % less
    time per layer at 9k keys, bench/stream.py). Many rows (a prefill), or an accelerator, use the fused SDPA,
    which never holds the [R, S] scores."""
    if q.device.type == "cpu" and q.shape[1] <= DIRECT_ROWS:
        scores = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=scale)  # [H, R, S]
        return torch.bmm(scores.softmax(-1, dtype=torch.float32).to(v.dtype), v)
    out = F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=bias[None, None], scale=scale)
    return out[0]


def project_qkv(attn: Any, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Query, key and value of normed hidden states h [1, T, D], before RoPE: [H, T, Dh] each."""
    dim = attn.head_dim
    q = attn.q_proj(h).view(h.shape[1], -1, dim).transpose(0, 1)
    k = attn.k_proj(h).view(h.shape[1], -1, dim).transpose(0, 1)
    v = attn.v_proj(h).view(h.shape[1], -1, dim).transpose(0, 1)
    return q, k, v


def logits_of(lm: Qwen2ForCausalLM, hidden: torch.Tensor) -> torch.Tensor:
    """Next-token logits [T, V] of residual states [T, D]."""
    out = lm.lm_head(lm.model.norm(hidden))
    return cast(torch.Tensor, out)


def token_logits(lm: Qwen2ForCausalLM, hidden: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """Logits [T, len(ids)] of just a few vocabulary entries: the yes/no read-out costs two rows, not the vocab."""
    rows: torch.Tensor = lm.lm_head.weight[ids]  # [n, D]; Qwen2's lm_head has no bias
    normed = cast(torch.Tensor, lm.model.norm(hidden))
    return normed @ rows.T
