"""The language model run layer by layer over an explicit KV context (gpt-fast style).

HF's own forward hides keys after RoPE inside its cache; the engine needs the keys *before* RoPE (so a stored key
can be re-positioned exactly) and an attention context it assembles itself (the chunk rule, the question view).
So this module reuses the model's own submodules (norms, projections, rotary embedding, MLP) in the same order as
`Qwen2DecoderLayer`, with attention (`attend`: SDPA, or two GEMMs for a few float32 rows on a CPU) over a
scratch buffer the caller owns. The ground-truth tests hold it equal to
`lm(inputs_embeds=..., attention_mask=<4-D mask>)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import Qwen2ForCausalLM

from engine.rope import rope_tables, rotate

DIRECT_ROWS = 256  # query rows (heads folded in) up to which float32 CPU attention is two GEMMs (`attend`)


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


@dataclass(frozen=True)
class NewTokens:
    """New tokens attending to their own scratch: x [T, D] at `positions` [T], mask [T, length + T] boolean."""

    x: torch.Tensor
    positions: torch.Tensor
    scratch: ScratchKV
    mask: torch.Tensor


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
    return run_sequences(lm, [NewTokens(x, positions, scratch, mask)], stop)[0]


def run_sequences(lm: Qwen2ForCausalLM, seqs: Sequence[NewTokens], stop: int | None = None) -> list[StepOutput]:
    """`run_layers` for several sequences at once, each over its own scratch (variable length, no padding, no
    copy of any context): projections and MLP run on all their tokens packed, attention per sequence. Two
    sequences may share one scratch *buffer* through their own ScratchKV objects of the same length (two batches
    of questions on one view): each writes its tokens' KV for a layer at the same slots and attends before the
    next one writes, so they never see each other's tokens; such a scratch is not for continuing (decoding) after.
    Buffers shared at different lengths would overwrite context: refused (ValueError)."""
    _check_shared(seqs)
    sizes = [int(seq.x.shape[0]) for seq in seqs]
    x = torch.cat([seq.x for seq in seqs])  # [N, D]
    cos, sin = rope_tables(lm, torch.cat([seq.positions for seq in seqs]), x)
    dims = lm_dims(lm)
    # additive biases built once, not converted from a boolean mask by every layer's attention;
    # [rep * T, length + T]: one row per (query head, token)
    biases = [torch.zeros(seq.mask.shape, dtype=x.dtype, device=x.device).masked_fill_(~seq.mask, float("-inf"))
              .repeat(dims.q_heads // dims.kv_heads, 1) for seq in seqs]
    spans = [(seq.scratch, seq.scratch.length, n, bias) for seq, n, bias in zip(seqs, sizes, biases, strict=True)]
    keys, values = [], []
    h = x[None]  # [1, N, D]
    for i, layer in enumerate(lm.model.layers[:stop]):
        h, k_pre, v = _layer(layer, h, cos, sin, i, spans)
        keys.append(k_pre)
        values.append(v)
    for seq, n in zip(seqs, sizes, strict=True):
        seq.scratch.length += n
    k_all, v_all = torch.stack(keys), torch.stack(values)  # [L, Hkv, N, Dh]
    parts = zip(torch.split(h[0], sizes), torch.split(k_all, sizes, 2), torch.split(v_all, sizes, 2), strict=True)
    return [StepOutput(hid, k, v) for hid, k, v in parts]


def _check_shared(seqs: Sequence[NewTokens]) -> None:
    """Refuse sequences whose scratches share a buffer at different lengths: one's new tokens would land inside the
    other's context (a stale question view next to the view extended from it)."""
    lengths: dict[int, int] = {}
    for seq in seqs:
        if lengths.setdefault(seq.scratch.k.data_ptr(), seq.scratch.length) != seq.scratch.length:
            raise ValueError("two sequences share a KV buffer at different lengths (a stale question view and the "
                             "view extended from it?): build the views again and ask on the newest")


_Span = tuple[ScratchKV, int, int, torch.Tensor]  # a sequence's scratch, its context length, its tokens, its bias


def _layer(
    layer: Any,  # Qwen2DecoderLayer (untyped upstream)
    h: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    index: int,
    spans: Sequence[_Span],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    attn = layer.self_attn
    q, k_pre, v = project_qkv(attn, layer.input_layernorm(h))  # q: [Hq, N, Dh]; k_pre, v: [Hkv, N, Dh]
    heads, dim, kv_heads = q.shape[0], q.shape[2], k_pre.shape[0]
    q_rot, k_rot = rotate(q, cos, sin), rotate(k_pre, cos, sin)
    outs, offset = [], 0
    for scratch, start, tokens, bias in spans:
        part, end = slice(offset, offset + tokens), start + tokens
        scratch.k[index, :, start:end] = k_rot[:, part]
        scratch.v[index, :, start:end] = v[:, part]
        # GQA as more query rows (as in lanes.py): query head g * rep + r reads KV head g, so [Hq, T, Dh] ->
        # [Hkv, rep * T, Dh] attends to the un-repeated KV once per KV head, instead of once per query head
        q_rows = q_rot[:, part].reshape(kv_heads, -1, dim)
        out = attend(q_rows, scratch.k[index, :, :end], scratch.v[index, :, :end], bias, attn.scaling)
        outs.append(out.view(heads, tokens, dim))
        offset += tokens
    out = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]  # [Hq, N, Dh]
    h = h + attn.o_proj(out.transpose(0, 1).reshape(1, h.shape[1], -1))
    h = h + layer.mlp(layer.post_attention_layernorm(h))
    return h, k_pre, v


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(q k^T * scale + bias) v for q [H, R, Dh] over k, v [H, S, Dh] with bias [R, S]: [H, R, Dh].

    Up to DIRECT_ROWS query rows in float32 on a CPU (questions, decoded tokens, a small prefill) go as two GEMMs:
    the fused kernel walks K and V once per 32-row block, which over a view of thousands of keys is memory
    traffic the GEMMs do not pay (one layer at 9.4k keys not in cache: 8.2 -> 5.8 ms). More rows, another dtype
    (bf16/fp16 scores would be rounded before the softmax, where the fused kernel keeps them in fp32) or an
    accelerator use the fused SDPA, which never holds the [R, S] scores. A row that may see nothing gets zeros
    either way."""
    if q.device.type == "cpu" and q.dtype == torch.float32 and q.shape[1] <= DIRECT_ROWS:
        scores = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=scale)  # [H, R, S]
        return torch.bmm(scores.softmax(-1).nan_to_num_(0.0), v)
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
