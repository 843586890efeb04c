"""A question's view of a camera's cache: bi-granular, assembled from the store, never written back.

Dense: the prompt prefix, the newest chunks (dense in memory) and the top-k chunks most relevant to the question
(read back dense from the disk tier); sparse (timestamps + 4x pooled visual KV) for every other retained chunk, so
an old chunk is always seen, at least coarsely. As in the reference's bi-granularity decoding, positions are
compacted to 0..S-1 over the view: pooled chunks shrink, and the question sits right after the last video token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from transformers import Qwen2ForCausalLM

from engine.api import TimeRange
from engine.gaps import gaps_in
from engine.layers import ScratchKV
from engine.records import ChunkRecord
from engine.rope import rope_tables, rotate


class DenseSource(Protocol):
    """Gives back a chunk's dense record when memory holds only its pooled copy (tier.DenseTier)."""

    def dense(self, record: ChunkRecord) -> ChunkRecord | None: ...


@dataclass(frozen=True)
class QuestionView:
    """The view's keys already rotated to their compacted positions 0..S-1, in a buffer with spare room after S.

    Questions write their own tokens' KV into the spare room only, so one view serves every question asked before
    the camera's next append (rotation is then paid once, not per question); the stored records are never written.
    """

    k: torch.Tensor  # [L, Hkv, S + spare, Dh] post-RoPE; [:, :, :S] is the view
    v: torch.Tensor  # [L, Hkv, S + spare, Dh]
    length: int  # S
    dense_seqs: tuple[int, ...]
    sparse_seqs: tuple[int, ...]
    selected_seqs: tuple[int, ...]  # sparse in memory, read back dense for this question
    seen: TimeRange

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.k, self.v))

    def scratch(self, lm: Qwen2ForCausalLM, extra: int) -> ScratchKV:
        """Room for `extra` question/answer tokens after the view: the spare buffer, or a bigger copy if needed."""
        if self.length + extra <= self.k.shape[2]:
            return ScratchKV(self.k, self.v, self.length)
        k, v = self.k[:, :, : self.length], self.v[:, :, : self.length]
        return ScratchKV(torch.cat([k, k.new_empty(*k.shape[:2], extra, k.shape[3])], 2),
                         torch.cat([v, v.new_empty(*v.shape[:2], extra, v.shape[3])], 2), self.length)


def visible(records: Sequence[ChunkRecord], window_s: float | None) -> list[ChunkRecord]:
    """The chunks a question may see: all retained ones, or those overlapping the last `window_s` seconds."""
    if window_s is None or not records:
        return list(records)
    since = records[-1].t_last - window_s
    return [rec for rec in records if rec.t_last >= since]


def build_view(
    lm: Qwen2ForCausalLM,
    prefix: tuple[torch.Tensor, torch.Tensor],
    records: Sequence[ChunkRecord],
    selected: set[int],
    source: DenseSource | None,
    spare: int,
) -> QuestionView:
    """Assemble the view; `selected` are seqs of sparse chunks to read back dense (kept sparse if unavailable)."""
    parts = [(prefix[0], prefix[1])]
    dense: list[int] = []
    sparse: list[int] = []
    picked: list[int] = []
    for rec in records:
        chosen = _dense_copy(rec, source) if rec.seq in selected and rec.sparse else rec
        parts.append((chosen.k, chosen.v))
        (sparse if chosen.sparse else dense).append(rec.seq)
        if chosen is not rec:
            picked.append(rec.seq)
    k, v, length = _rotated(lm, parts, spare)
    seen = TimeRange(records[0].t_first, records[-1].t_last, gaps_in(records))
    return QuestionView(k, v, length, tuple(dense), tuple(sparse), tuple(picked), seen)


def _rotated(
    lm: Qwen2ForCausalLM, parts: list[tuple[torch.Tensor, torch.Tensor]], spare: int
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Copy pre-RoPE parts [L, Hkv, n_i, Dh] into one buffer, then rotate the keys in place to positions 0..S-1."""
    length = sum(k.shape[2] for k, _ in parts)
    n_layers, heads, _, dim = parts[0][0].shape
    k_buf = parts[0][0].new_empty(n_layers, heads, length + spare, dim)
    v_buf = parts[0][1].new_empty(n_layers, heads, length + spare, dim)
    start = 0
    for k, v in parts:
        k_buf[:, :, start : start + k.shape[2]] = k
        v_buf[:, :, start : start + k.shape[2]] = v
        start += k.shape[2]
    view = k_buf[:, :, :length]
    cos, sin = rope_tables(lm, torch.arange(length), view)
    rotate(view, cos, sin, out=view)  # both products are computed before the sum is written back
    return k_buf, v_buf, length


def _dense_copy(record: ChunkRecord, source: DenseSource | None) -> ChunkRecord:
    full = source.dense(record) if source is not None else None
    return full if full is not None else record
