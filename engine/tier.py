"""The dense tier: full records of pooled chunks, read back from disk when a question selects them."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from engine.records import ChunkRecord


class ChunkReader(Protocol):
    def read(self, seq: int) -> ChunkRecord | None: ...


class DenseTier:
    """A small LRU (bounded by `capacity` records, typically top_k) in front of the chunk files, so a rule that
    asks the same question every few seconds reads its selected chunks from disk once, not every time."""

    def __init__(self, reader: ChunkReader | None, capacity: int) -> None:
        self._reader = reader
        self._capacity = capacity
        self._cache: OrderedDict[int, ChunkRecord] = OrderedDict()
        self.reads = 0  # disk reads, for status and the benchmark

    def dense(self, record: ChunkRecord) -> ChunkRecord | None:
        """The dense copy of `record`, or None when there is no disk tier or the file was refused."""
        if record.seq in self._cache:
            self._cache.move_to_end(record.seq)
            return self._cache[record.seq]
        if self._reader is None or self._capacity <= 0:
            return None
        full = self._reader.read(record.seq)
        self.reads += 1
        if full is not None:
            self._cache[record.seq] = full
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return full

    def forget(self, seqs: set[int]) -> None:
        """Drop cached copies of chunks that left the retention window."""
        for seq in seqs & set(self._cache):
            del self._cache[seq]

    def clear(self) -> None:
        """Forget every cached copy (the next selection reads from disk again)."""
        self._cache.clear()

    def nbytes(self) -> int:
        return sum(rec.nbytes for rec in self._cache.values())
