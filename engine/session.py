"""StreamSession: one camera's video living in the model as KV, appended group by group under the chunk rule."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
import torch

from engine.api import TimeRange
from engine.chunk_rule import prefill_context
from engine.gaps import gaps_in, seen_of
from engine.kvstore import KVStore
from engine.layers import lm_dims, run_layers, scratch_from
from engine.masks import causal_after
from engine.open_chunk import OpenChunk
from engine.persist import Restored
from engine.prefill_piece import PrefillPiece
from engine.protocols import StreamModel
from engine.records import POOL, ChunkRecord, EncodedGroup
from engine.relevance import group_keys, relevance_layer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SessionShape:
    """How a camera's cache is shaped (from EngineSettings)."""

    chunk_groups: int
    window: int
    dense_chunks: int
    retention_s: float
    fps: float
    time_period_s: float = 3600.0  # prompt times wrap at this period (EngineSettings.prompt_time_period_s)

    @property
    def max_chunks(self) -> int:
        """Hard cap on retained chunks, so memory stays bounded even if frame clocks misbehave."""
        return math.ceil(self.retention_s * self.fps / (4 * self.chunk_groups)) + 1


class ChunkSink(Protocol):
    """Where chunks go besides memory (persist.ChunkFiles); deletes follow retention."""

    def write(self, record: ChunkRecord, epoch: float, sealed: bool = True, groups_encoded: int = 0) -> None: ...

    def delete(self, seq: int) -> None: ...


class StreamSession:
    """Owned by the engine thread. Prefill cost is only ever the new groups' tokens against the chunk-rule context."""

    def __init__(
        self,
        camera_id: str,
        model: StreamModel,
        shape: SessionShape,
        sink: ChunkSink | None = None,
        restored: Restored | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.model = model
        self.shape = shape
        self._sink = sink
        self._log = log.bind(camera_id=camera_id)
        self._mid = relevance_layer(lm_dims(model.lm).layers)
        self._vis_len = int(model.spec.tokens_per_group)
        if self._vis_len % POOL:
            raise ValueError(f"tokens per group ({self._vis_len}) must be a multiple of {POOL} to pool sparse chunks")
        prefix_k, prefix_v = self._prefix_kv()
        self.store = KVStore(prefix_k, prefix_v, shape.dense_chunks, shape.max_chunks)
        self.epoch: float | None = None
        self.groups_encoded = 0
        self.version = 0  # bumped by every change of the cache: a question view built at one version is reusable
        self._open = OpenChunk(0, self.store.prefix_k[:, :, :0], self._vis_len)
        if restored is not None:
            self._restore(restored)

    @torch.inference_mode()
    def _prefix_kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._embed(self.model.prompt.prefix_ids)
        dims = lm_dims(self.model.lm)
        empty = x.new_empty(dims.layers, dims.kv_heads, 0, dims.head_dim)
        scratch = scratch_from(self.model.lm, empty, empty, torch.arange(0), x.shape[0])
        out = run_layers(self.model.lm, x, torch.arange(x.shape[0]), scratch, causal_after(0, x.shape[0], x.device))
        return out.k_pre, out.v

    def _restore(self, restored: Restored) -> None:
        """Continue a stream from disk: sealed chunks into the store (same pooling and retention as live), the open
        chunk (written at shutdown) as the chunk to keep filling."""
        self.epoch = restored.epoch
        self.groups_encoded = restored.groups_encoded
        for rec in restored.sealed:
            self._drop(self.store.add(rec))
        newest = restored.open or (restored.sealed[-1] if restored.sealed else None)
        if newest is not None:
            self._drop(self.store.drop_older_than(newest.t_last - self.shape.retention_s))
            next_seq = newest.seq if restored.open is not None else newest.seq + 1
            self._open = OpenChunk(next_seq, self.store.prefix_k[:, :, :0], self._vis_len)
        if restored.open is not None:
            rec = restored.open
            self._open.add(rec.k, rec.v, list(rec.layout.ts_lens), rec.rel, rec.t_first, rec.t_last)
            if self._open.groups >= self.shape.chunk_groups:  # chunk_groups shrank since it was written
                self.seal()
        gaps = gaps_in(self.views())
        self._log.info("engine.session_restored", chunks=len(self.store), open_groups=self._open.groups,
                       groups_encoded=self.groups_encoded, gaps=len(gaps), missing_chunks=sum(g.chunks for g in gaps))

    @property
    def open_chunk(self) -> OpenChunk:
        return self._open

    @torch.inference_mode()
    def append(self, groups: Sequence[EncodedGroup]) -> torch.Tensor:
        """Prefill groups in order, one forward per chunk piece; return the new tokens' residual states [T, D]."""
        hidden, i = [], 0
        while i < len(groups):
            piece = self.plan(groups[i : i + self.room()])
            scratch = scratch_from(self.model.lm, piece.context.k, piece.context.v, piece.context.positions,
                                   piece.x.shape[0])
            out = run_layers(self.model.lm, piece.x, piece.positions, scratch, piece.mask())
            self.commit(piece, out.k_pre, out.v)
            hidden.append(out.hidden)
            i += piece.groups
        return torch.cat(hidden)

    def room(self) -> int:
        """Groups the open chunk can still take: the most one prefill piece may hold."""
        return self.shape.chunk_groups - self._open.groups

    def plan(self, groups: Sequence[EncodedGroup]) -> PrefillPiece:
        """What the next prefill runs: the groups' tokens, their stream positions and their chunk-rule context.
        Reads the session only (the epoch is set by the first group ever); `commit` applies the result."""
        if not 0 < len(groups) <= self.room():
            raise ValueError(f"a prefill piece takes 1..{self.room()} groups (the open chunk's room): {len(groups)}")
        if self.epoch is None:
            self.epoch = groups[0].t_first  # the stream's epoch: timestamps count seconds from here
        x, ts_lens, vis_slices = self._tokens(groups)
        open_k, open_v = self._open.kv()
        ctx = prefill_context(self.store, self.shape.window, open_k, open_v)
        first = self.store.end_position() + open_k.shape[2]
        positions = torch.arange(first, first + x.shape[0])
        return PrefillPiece(x, positions, ctx, tuple(ts_lens), tuple(vis_slices), groups[0].t_first, groups[-1].t_last)

    def commit(self, piece: PrefillPiece, k_pre: torch.Tensor, v: torch.Tensor) -> None:
        """Add a planned piece's new KV (k_pre, v [L, Hkv, T, Dh], keys before RoPE) to the open chunk; seal it
        when full. The piece must be the last one planned: the context it was planned on is the cache as it is."""
        rel = group_keys(k_pre[self._mid], list(piece.vis_slices))
        self._open.add(k_pre, v, list(piece.ts_lens), rel, piece.t_first, piece.t_last)
        self.groups_encoded += piece.groups
        self.version += 1
        if self._open.groups == self.shape.chunk_groups:
            self.seal()

    def _tokens(self, groups: Sequence[EncodedGroup]) -> tuple[torch.Tensor, list[int], list[slice]]:
        """Embeddings [T, D] of `Time {t}s:` + visual tokens per group, with where each group's visual tokens are."""
        parts, ts_lens, vis_slices, offset = [], [], [], 0
        for group in groups:
            ts = self._embed(self.model.prompt.timestamp_ids(self.stream_time(group.t_first)))
            parts += [ts, group.vis.to(ts.dtype)]
            ts_lens.append(ts.shape[0])
            vis_slices.append(slice(offset + ts.shape[0], offset + ts.shape[0] + group.vis.shape[0]))
            offset += ts.shape[0] + group.vis.shape[0]
        return torch.cat(parts), ts_lens, vis_slices

    def stream_time(self, t_wall: float) -> float:
        """The prompt's time of a frame: seconds since the stream's epoch (first frame ever in this cache), modulo
        the shape's period, so it stays in the trained range on a stream that runs for months (rounded to 0.1 s
        first: a time that rounds up to the period shows as 0.0, never as the period itself)."""
        since = t_wall - (self.epoch if self.epoch is not None else t_wall)
        period = self.shape.time_period_s
        return round(since % period, 1) % period

    def _embed(self, ids: Sequence[int]) -> torch.Tensor:
        return self.model.embed(list(ids))

    def seal(self) -> ChunkRecord | None:
        """Close the open chunk (also a partial one, at shutdown): store it, persist it, apply retention."""
        record = self._open.record()
        if record is None or self.epoch is None:
            return None
        self._open = OpenChunk(record.seq + 1, self.store.prefix_k[:, :, :0], self._vis_len)
        self.version += 1
        self._drop(self.store.add(record))
        self._drop(self.store.drop_older_than(record.t_last - self.shape.retention_s))
        self._persist(record, sealed=True)
        self._log.debug("engine.chunk_sealed", chunk_seq=record.seq, tokens=record.layout.tokens)
        return record

    def checkpoint(self) -> None:
        """Write the open chunk as it is (at shutdown), so a restart continues exactly where this one stopped."""
        record = self._open.record()
        if record is not None:
            self._persist(record, sealed=False)

    def _persist(self, record: ChunkRecord, sealed: bool) -> None:
        # memory is the primary copy: a failed write costs the restart and the dense read-back, never the stream
        if self._sink is None or self.epoch is None:
            return
        try:
            self._sink.write(record, self.epoch, sealed, self.groups_encoded)
        except OSError as exc:
            self._log.warning("engine.chunk_not_persisted", chunk_seq=record.seq, error=str(exc),
                              hint="check free space and permissions of the state directory")

    def _drop(self, records: list[ChunkRecord]) -> None:
        for rec in records:
            self._log.debug("engine.chunk_expired", chunk_seq=rec.seq)
            if self._sink is None:
                continue
            try:
                self._sink.delete(rec.seq)
            except OSError as exc:  # a file left behind costs disk, never the stream; restore discards it by age
                self._log.warning("engine.chunk_not_deleted", chunk_seq=rec.seq, error=str(exc))

    def tokens(self) -> int:
        return self.store.tokens() + self._open.tokens

    def nbytes(self) -> int:
        open_k, open_v = self._open.kv()
        return self.store.nbytes() + sum(t.numel() * t.element_size() for t in (open_k, open_v))

    def seen(self) -> TimeRange | None:
        """Wall-clock range of the video the cache holds, with the holes inside it."""
        return seen_of(self.views())

    def views(self) -> list[ChunkRecord]:
        """Every retained chunk, oldest first, with the open tail last (what a question can see)."""
        tail = self._open.record()
        return [*self.store.records, *([tail] if tail is not None else [])]
