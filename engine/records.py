"""One sealed chunk's KV as the store keeps it: immutable tensors plus the token layout that gives them positions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import torch

POOL = 4  # bi-granularity: a sparse chunk keeps every 4 consecutive visual tokens as their mean


@dataclass(frozen=True, slots=True)
class EncodedGroup:
    """Four sampled frames after the vision side: what the language model appends for them."""

    t_first: float  # Unix seconds of the group's first frame: its timestamp
    t_last: float  # Unix seconds of its last frame
    vis: torch.Tensor  # [V, D] visual embeddings (V = tokens per group)


@dataclass(frozen=True)
class ChunkLayout:
    """Per group: its timestamp tokens then its visual tokens, in stream order."""

    ts_lens: tuple[int, ...]  # timestamp tokens of each group
    vis_len: int  # visual tokens per group when dense
    pool: int = 1  # 1 dense, POOL when the visual tokens are average-pooled

    @property
    def groups(self) -> int:
        return len(self.ts_lens)

    @property
    def stored_vis(self) -> int:
        return self.vis_len // self.pool

    @property
    def tokens(self) -> int:
        """Tokens as stored (pooled when sparse)."""
        return sum(self.ts_lens) + self.groups * self.stored_vis

    @property
    def dense_tokens(self) -> int:
        """Tokens the chunk spans in the stream: positions always count the dense layout."""
        return sum(self.ts_lens) + self.groups * self.vis_len

    @cached_property
    def ts_index(self) -> torch.Tensor:
        """Indices [Nts] of the timestamp tokens in the stored layout."""
        return self._ts_positions(self.stored_vis)

    @cached_property
    def ts_offsets(self) -> torch.Tensor:
        """Offsets [Nts] of the timestamp tokens from the chunk's first stream position."""
        return self._ts_positions(self.vis_len)

    def _ts_positions(self, vis: int) -> torch.Tensor:
        out: list[int] = []
        base = 0
        for n in self.ts_lens:
            out.extend(range(base, base + n))
            base += n + vis
        return torch.tensor(out, dtype=torch.long)


@dataclass(frozen=True)
class ChunkRecord:
    """A sealed chunk: pre-RoPE keys (re-positionable exactly), values, time range, relevance keys."""

    seq: int  # per camera, increasing from 0 since the cache's epoch
    t_first: float  # Unix seconds of its first frame
    t_last: float  # Unix seconds of its last frame
    layout: ChunkLayout
    k: torch.Tensor  # [L, Hkv, N, Dh] keys before RoPE, N = layout.tokens
    v: torch.Tensor  # [L, Hkv, N, Dh]
    rel: torch.Tensor  # [G, Hkv, Dh] per-group relevance key (see relevance.py)

    @property
    def sparse(self) -> bool:
        return self.layout.pool > 1

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.k, self.v, self.rel))

    def timestamps(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values [L, Hkv, Nts, Dh] of the timestamp tokens: what a far-away chunk still contributes."""
        index = self.layout.ts_index.to(self.k.device)
        return self.k.index_select(2, index), self.v.index_select(2, index)

    def pooled(self) -> ChunkRecord:
        """The sparse copy: timestamp KV kept, each group's visual KV average-pooled POOL-fold along the sequence.

        Pooling pre-RoPE keys is what makes a pooled token meaningful: the mean of un-rotated keys is itself a key
        that can be rotated to any position (the reference pools pre-RoPE keys the same way).
        """
        if self.sparse:
            return self
        layout = replace(self.layout, pool=POOL)
        return replace(self, layout=layout, k=_pool(self.k, self.layout), v=_pool(self.v, self.layout))


def _pool(x: torch.Tensor, layout: ChunkLayout) -> torch.Tensor:
    parts, base = [], 0
    n_layers, heads, _, dim = x.shape
    for n in layout.ts_lens:
        vis = x[:, :, base + n : base + n + layout.vis_len]  # [L, Hkv, V, Dh]
        pooled = vis.float().view(n_layers, heads, layout.vis_len // POOL, POOL, dim).mean(3)
        parts += [x[:, :, base : base + n], pooled.to(x.dtype)]
        base += n + layout.vis_len
    return torch.cat(parts, dim=2).contiguous()
