"""One camera's retained KV: the prompt prefix plus one record per sealed chunk, the newest dense, older ones pooled.

Positions are never stored. A record's stream position is the prefix length plus the dense lengths of the retained
records before it, as if the retained video were one long sequence; dropping the oldest records therefore re-bases
every position at once, and positions stay under prefix + retention length however long the stream runs. Keys are
kept before RoPE, so a re-based key is exactly the key the model computes at its new position.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

import torch

from engine.records import ChunkRecord


class KVStore:
    """Owned by the engine thread through its camera's StreamSession; nothing else mutates it."""

    def __init__(self, prefix_k: torch.Tensor, prefix_v: torch.Tensor, dense_chunks: int, max_chunks: int) -> None:
        self.prefix_k = prefix_k  # [L, Hkv, P, Dh] pre-RoPE
        self.prefix_v = prefix_v  # [L, Hkv, P, Dh]
        self._dense_chunks = dense_chunks
        self._max_chunks = max_chunks
        self._records: deque[ChunkRecord] = deque()

    @property
    def prefix_len(self) -> int:
        return int(self.prefix_k.shape[2])

    @property
    def records(self) -> tuple[ChunkRecord, ...]:
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ChunkRecord]:
        return iter(self._records)

    def starts(self) -> list[int]:
        """Stream position of each retained record's first token, oldest first."""
        out, pos = [], self.prefix_len
        for rec in self._records:
            out.append(pos)
            pos += rec.layout.dense_tokens
        return out

    def end_position(self) -> int:
        """The stream position the next chunk starts at."""
        return self.prefix_len + sum(rec.layout.dense_tokens for rec in self._records)

    def add(self, record: ChunkRecord) -> list[ChunkRecord]:
        """Append a sealed chunk (dense); pool the one that left the dense set; return records dropped by the cap."""
        if self._records and record.seq <= self._records[-1].seq:
            raise ValueError(f"chunk {record.seq} is not newer than chunk {self._records[-1].seq}")
        self._records.append(record)
        if len(self._records) > self._dense_chunks:
            index = len(self._records) - self._dense_chunks - 1
            self._records[index] = self._records[index].pooled()
        return self._trim(lambda rec: len(self._records) > self._max_chunks)

    def drop_older_than(self, t_wall: float) -> list[ChunkRecord]:
        """Drop records whose last frame is older than t_wall (the retention window); positions re-base."""
        return self._trim(lambda rec: rec.t_last < t_wall)

    def _trim(self, too_old: Callable[[ChunkRecord], bool]) -> list[ChunkRecord]:
        dropped = []
        while self._records and too_old(self._records[0]):
            dropped.append(self._records.popleft())
        return dropped

    def tokens(self) -> int:
        return self.prefix_len + sum(rec.layout.tokens for rec in self._records)

    def nbytes(self) -> int:
        prefix = sum(t.numel() * t.element_size() for t in (self.prefix_k, self.prefix_v))
        return prefix + sum(rec.nbytes for rec in self._records)
