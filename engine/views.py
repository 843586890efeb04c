"""A question's view of a camera's cache: bi-granular, assembled from the store, never written back.

Dense: the prompt prefix, the newest chunks (dense in memory) and the top-k chunks most relevant to the question
(read back dense from the dense tier); sparse (timestamps + 4x pooled visual KV) for every other retained chunk, so
an old chunk is always seen, at least coarsely. As in the reference's bi-granularity decoding, positions are
compacted to 0..S-1 over the view: pooled chunks shrink, and the question sits right after the last video token.

Two choices differ from the reference's offline evaluation (see docs/architecture.md, "Question views"): the
oldest retained chunk is not kept dense (in a stream it is just the oldest minute kept, not the video's start; the
prompt prefix stays dense and plays the attention-sink role), and a question that selects nothing still gets the
bi-granular view, never a fully dense fallback (that would hold the whole retention dense in memory).

A view can be *extended* rather than rebuilt (`build_view(..., reuse=old)`): every part up to the first that
changed keeps its rotated keys, so an append that only grows the open chunk costs the new tokens' rotation, and a
seal costs the chunks after the one that was pooled, whatever the window's length.
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
from engine.rope import rope_tables, rotate_into

PREFIX_SEQ = -1  # the part id of the prompt prefix
GROWTH = 8  # a new buffer has 1/8 of the view as room to grow: appends extend it in place, amortised O(new tokens)


class DenseSource(Protocol):
    """Gives back a chunk's dense record when memory holds only its pooled copy (tier.DenseTier)."""

    def dense(self, record: ChunkRecord) -> ChunkRecord | None: ...


@dataclass(frozen=True, slots=True)
class Part:
    """One stretch of a view: the prefix (seq -1) or one chunk, dense or pooled, with its token count."""

    seq: int
    sparse: bool
    tokens: int


@dataclass(frozen=True)
class QuestionView:
    """The view's keys already rotated to their compacted positions 0..S-1, in a buffer with spare room after S.

    Questions write their own tokens' KV into the spare room only, so one view serves every question asked before
    the camera's next append (rotation is then paid once, not per question); the stored records are never written.
    A view extended into a new one (`build_view(reuse=...)`) shares its buffer: the old one must not be used after.
    """

    k: torch.Tensor  # [L, Hkv, S + spare, Dh] post-RoPE; [:, :, :S] is the view
    v: torch.Tensor  # [L, Hkv, S + spare, Dh]
    length: int  # S
    parts: tuple[Part, ...]
    selected_seqs: tuple[int, ...]  # sparse in memory, read back dense for this question
    seen: TimeRange

    @property
    def dense_seqs(self) -> tuple[int, ...]:
        return tuple(p.seq for p in self.parts if p.seq != PREFIX_SEQ and not p.sparse)

    @property
    def sparse_seqs(self) -> tuple[int, ...]:
        return tuple(p.seq for p in self.parts if p.sparse)

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
    reuse: QuestionView | None = None,
) -> QuestionView:
    """Assemble the view; `selected` are seqs of sparse chunks to read back dense (kept sparse if unavailable).
    With `reuse`, the parts it shares with the new view keep their rotated keys (its buffer is taken over)."""
    tensors = [(prefix[0], prefix[1])]
    parts = [Part(PREFIX_SEQ, False, int(prefix[0].shape[2]))]
    picked: list[int] = []
    for rec in records:
        chosen = _dense_copy(rec, source) if rec.seq in selected and rec.sparse else rec
        tensors.append((chosen.k, chosen.v))
        parts.append(Part(rec.seq, chosen.sparse, chosen.layout.tokens))
        if chosen is not rec:
            picked.append(rec.seq)
    k, v, length = _assemble(lm, tensors, parts, spare, reuse)
    seen = TimeRange(records[0].t_first, records[-1].t_last, gaps_in(records))
    return QuestionView(k, v, length, tuple(parts), tuple(picked), seen)


def kept_tokens(old: Sequence[Part], new: Sequence[Part]) -> int:
    """Tokens at the start of a view `new` that an older view `old` already holds, rotated the same way: every
    part up to the first that changed, and the common start of a part that only grew (the open chunk)."""
    kept = 0
    for before, after in zip(old, new, strict=False):
        if (before.seq, before.sparse) != (after.seq, after.sparse) or before.tokens > after.tokens:
            break
        kept += before.tokens
        if before.tokens != after.tokens:
            break
    return kept


def _assemble(
    lm: Qwen2ForCausalLM,
    tensors: list[tuple[torch.Tensor, torch.Tensor]],
    parts: list[Part],
    spare: int,
    reuse: QuestionView | None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Rotate pre-RoPE parts [L, Hkv, n_i, Dh] straight into one buffer at positions kept..S-1, from the first token
    `reuse` lacks (RoPE is elementwise, so this equals rotating the whole buffer), and copy their values."""
    length = sum(p.tokens for p in parts)
    kept = kept_tokens(reuse.parts, parts) if reuse is not None else 0
    k_buf, v_buf = _buffers(tensors[0][0], length + spare, max(spare, length // GROWTH), reuse, kept)
    cos, sin = rope_tables(lm, torch.arange(kept, length), k_buf)  # [S - kept, Dh]
    start = 0
    for (k, v), part in zip(tensors, parts, strict=True):
        end = start + part.tokens
        if end > kept:
            skip = max(0, kept - start)
            rows = slice(start + skip - kept, end - kept)
            rotate_into(k_buf[:, :, start + skip : end], k[:, :, skip:], cos[rows], sin[rows])
            v_buf[:, :, start + skip : end] = v[:, :, skip:]
        start = end
    return k_buf, v_buf, length


def _buffers(
    like: torch.Tensor, capacity: int, grow: int, reuse: QuestionView | None, kept: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reused view's buffers when they have room, else new ones [L, Hkv, capacity, Dh] with its kept tokens."""
    if reuse is not None and reuse.k.shape[2] >= capacity:
        return reuse.k, reuse.v
    n_layers, heads, _, dim = like.shape
    room = capacity + grow  # room for the next appends, so they extend the view in place
    k_buf = like.new_empty(n_layers, heads, room, dim)
    v_buf = like.new_empty(n_layers, heads, room, dim)
    if reuse is not None and kept:
        k_buf[:, :, :kept] = reuse.k[:, :, :kept]
        v_buf[:, :, :kept] = reuse.v[:, :, :kept]
    return k_buf, v_buf


def _dense_copy(record: ChunkRecord, source: DenseSource | None) -> ChunkRecord:
    full = source.dense(record) if source is not None else None
    return full if full is not None else record
