"""The chunk being filled: its groups' KV so far, until it holds `chunk_groups` groups and is sealed."""

from __future__ import annotations

import torch

from engine.records import ChunkLayout, ChunkRecord


class OpenChunk:
    """Owned by one StreamSession. Within a chunk attention is causal, so prefilling its groups in several calls
    gives the same KV as one call over the whole chunk; questions can see a group as soon as it is prefilled."""

    def __init__(self, seq: int, empty: torch.Tensor, vis_len: int) -> None:
        self.seq = seq
        self._empty = empty  # [L, Hkv, 0, Dh]
        self._vis_len = vis_len
        self.ts_lens: list[int] = []
        self._k: list[torch.Tensor] = []
        self._v: list[torch.Tensor] = []
        self._rel: list[torch.Tensor] = []
        self.t_first = 0.0
        self.t_last = 0.0

    @property
    def groups(self) -> int:
        return len(self.ts_lens)

    @property
    def tokens(self) -> int:
        return sum(self.ts_lens) + self.groups * self._vis_len

    def add(
        self, k: torch.Tensor, v: torch.Tensor, ts_lens: list[int], rel: torch.Tensor, t_first: float, t_last: float
    ) -> None:
        """Append prefilled groups: k, v [L, Hkv, T, Dh] pre-RoPE, rel [G, Hkv, Dh]."""
        if not self.ts_lens:
            self.t_first = t_first
        self.ts_lens += ts_lens
        self._k.append(k)
        self._v.append(v)
        self._rel.append(rel)
        self.t_last = t_last

    def kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values [L, Hkv, n, Dh] of the groups so far."""
        if not self._k:
            return self._empty, self._empty
        self._k, self._v = [torch.cat(self._k, dim=2)], [torch.cat(self._v, dim=2)]
        return self._k[0], self._v[0]

    def record(self) -> ChunkRecord | None:
        """The groups so far as a dense record (the chunk when sealing it, or the open tail a question sees)."""
        if not self.ts_lens:
            return None
        k, v = self.kv()
        self._rel = [torch.cat(self._rel)]
        layout = ChunkLayout(tuple(self.ts_lens), self._vis_len)
        return ChunkRecord(self.seq, self.t_first, self.t_last, layout, k, v, self._rel[0])
