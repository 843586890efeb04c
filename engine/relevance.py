"""Which old chunks a question should see dense: relevance scored online by the model itself, from stored keys.

The reference selects key chunks offline with an external retriever (LanguageBind). A live camera has no such
oracle, so the engine asks the language model's own attention instead:

* Chunk side, free at prefill time: for every 4-frame group, the mean of its visual tokens' *pre-RoPE* keys at a
  middle layer, per KV head ([Hkv, Dh]); kept with the chunk (a few hundred bytes) even after it is pooled.
* Question side, one tiny pass: the question tokens run over the prompt prefix through the first `layer` layers;
  their pre-RoPE queries at `layer` are averaged over tokens ([Hq, Dh]).
* Score of a group: q̄ · k̄ / sqrt(Dh), averaged over query heads. By linearity this is exactly the mean attention
  logit between the question's tokens and the group's visual tokens with RoPE removed, i.e. how strongly the
  question's attention would pull towards that group whatever its distance. A chunk scores as its best group, so
  a 4-frame event is not averaged away inside a 16-frame chunk.

Cost: `layer` layers over the question's own ~10-30 tokens (against the prefix only) plus one [C*G, Hkv, Dh]
product. The query depends on the question text alone (the prefix never changes), so the planner memoizes it: a
rule asking the same question every few seconds pays only the product. Each question is scored and selects on its
own, whatever else is asked with it (asking.py groups questions by selection). bench/stream.py reports the cost.
"""

from __future__ import annotations

import torch
from transformers import Qwen2ForCausalLM

from engine.layers import project_qkv, run_layers, scratch_from
from engine.masks import packed_mask


def relevance_layer(n_layers: int) -> int:
    """The layer whose keys and queries score relevance: the middle one (shallow layers still see tokens, deep ones
    already mix the answer; the middle is where retrieval-style heads are usually found)."""
    return n_layers // 2


def group_keys(k_pre: torch.Tensor, vis_slices: list[slice]) -> torch.Tensor:
    """Relevance keys [G, Hkv, Dh] from one layer's new pre-RoPE keys k_pre [Hkv, T, Dh]."""
    return torch.stack([k_pre[:, part].float().mean(1) for part in vis_slices]).to(k_pre.dtype)


def question_queries(
    lm: Qwen2ForCausalLM, prefix_k: torch.Tensor, prefix_v: torch.Tensor, embeds: list[torch.Tensor], layer: int
) -> torch.Tensor:
    """Per question (embeddings [T_i, D] each), the mean pre-RoPE query of its tokens at `layer`: [B, Hq, Dh].
    The questions run packed, each reading only the prefix, so a query depends on the question text alone."""
    n_prefix, lengths = prefix_k.shape[2], [e.shape[0] for e in embeds]
    x = torch.cat(embeds)
    scratch = scratch_from(lm, prefix_k[:layer], prefix_v[:layer], torch.arange(n_prefix), x.shape[0])
    positions = torch.cat([torch.arange(n_prefix, n_prefix + n) for n in lengths])
    hidden = run_layers(lm, x, positions, scratch, packed_mask(n_prefix, lengths, x.device), stop=layer).hidden
    block = lm.model.layers[layer]
    q, _, _ = project_qkv(block.self_attn, block.input_layernorm(hidden[None]))  # q: [Hq, T, Dh]
    return torch.stack([part.float().mean(1) for part in torch.split(q, lengths, dim=1)])


def chunk_scores(query: torch.Tensor, keys: list[torch.Tensor]) -> torch.Tensor:
    """Scores [C] of chunks from query [Hq, Dh] and each chunk's group keys [G_c, Hkv, Dh]: best group wins."""
    if not keys:
        return torch.zeros(0)
    flat = torch.cat(keys).float()  # [sum G_c, Hkv, Dh]
    kv_heads, dim = flat.shape[1], flat.shape[2]
    grouped = query.view(kv_heads, -1, dim)  # [Hkv, rep, Dh]: query heads sharing one KV head (GQA)
    logits = torch.einsum("hrd,ghd->g", grouped, flat) / (grouped.shape[1] * kv_heads * dim**0.5)
    return torch.stack([part.max() for part in logits.split([k.shape[0] for k in keys])])


def top_k(scores: torch.Tensor, k: int) -> list[int]:
    """Indices of the k best scores, ties broken towards the older chunk (stable, deterministic)."""
    if k <= 0 or scores.numel() == 0:
        return []
    order = sorted(range(scores.numel()), key=lambda i: (-float(scores[i]), i))
    return order[:k]
