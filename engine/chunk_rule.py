"""The chunk rule of Video-XL-2's streaming prefill, as a KV context.

A new chunk attends to the prompt prefix, to the timestamp tokens of every older retained chunk, to the full KV
of the last `window` chunks, and causally to itself. Everything it may see is earlier in the stream, so the rule
is expressed by *which* keys the context holds; the mask over that context is plain causal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.kvstore import KVStore


@dataclass(frozen=True, slots=True)
class Context:
    """Pre-RoPE keys, values and stream positions a prefill attends to."""

    k: torch.Tensor  # [L, Hkv, S, Dh]
    v: torch.Tensor  # [L, Hkv, S, Dh]
    positions: torch.Tensor  # [S] long

    @property
    def length(self) -> int:
        return int(self.k.shape[2])


def prefill_context(store: KVStore, window: int, open_k: torch.Tensor, open_v: torch.Tensor) -> Context:
    """Context for the next tokens of the open chunk; open_k/open_v [L, Hkv, n, Dh] are its tokens so far."""
    records, starts = store.records, store.starts()
    far = len(records) - window
    ks, vs, pos = [store.prefix_k], [store.prefix_v], [torch.arange(store.prefix_len)]
    for i, (rec, start) in enumerate(zip(records, starts, strict=True)):
        if i < far:
            k, v = rec.timestamps()
            ks.append(k)
            vs.append(v)
            pos.append(start + rec.layout.ts_offsets)
        else:
            if rec.sparse:
                raise ValueError(f"chunk {rec.seq} is in the prefill window but pooled: dense_chunks < window_chunks")
            ks.append(rec.k)
            vs.append(rec.v)
            pos.append(start + torch.arange(rec.layout.tokens))
    open_start = store.end_position()
    ks.append(open_k)
    vs.append(open_v)
    pos.append(open_start + torch.arange(open_k.shape[2]))
    return Context(torch.cat(ks, dim=2), torch.cat(vs, dim=2), torch.cat(pos))
