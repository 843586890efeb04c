"""Shared pieces of the streaming-engine tests: groups from the real tiny vision path, and the ground truth
(the whole stream as one sequence, with the chunk rule written as an explicit 4-D mask)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.intake import PendingGroup
from engine.model import VideoXL2
from engine.records import EncodedGroup
from engine.session import SessionShape, StreamSession

T0 = 1_700_000_000.0  # wall-clock seconds of the first frame


def shape(**overrides: float) -> SessionShape:
    base: dict[str, float] = {"chunk_groups": 2, "window": 1, "dense_chunks": 64, "retention_s": 1e6, "fps": 1.0}
    base.update(overrides)
    return SessionShape(
        int(base["chunk_groups"]), int(base["window"]), int(base["dense_chunks"]), base["retention_s"], base["fps"]
    )


def frames(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8) for _ in range(n)]


def groups(model: VideoXL2, n: int, seed: int = 0, first: int = 0) -> list[EncodedGroup]:
    """n groups of 4 random frames at 1 fps, encoded by the real vision path; group i starts at T0 + 4*(first+i)."""
    vis = model.encode_groups(model.preprocess(frames(4 * n, seed)))  # [n, V, D]
    out = []
    for i in range(n):
        t = T0 + 4.0 * (first + i)
        out.append(EncodedGroup(t, t + 3.0, vis[i]))
    return out


@dataclass(frozen=True)
class Sequence:
    x: torch.Tensor  # [L, D]
    chunk: torch.Tensor  # [L] chunk index of each token, -1 for the prefix
    is_ts: torch.Tensor  # [L] bool
    prefix_len: int


def full_sequence(model: VideoXL2, gs: list[EncodedGroup], chunk_groups: int, epoch: float = T0) -> Sequence:
    parts = [model.embed(model.prompt.prefix_ids)]
    chunk, is_ts = [-1] * parts[0].shape[0], [False] * parts[0].shape[0]
    for i, g in enumerate(gs):
        ts = model.embed(model.prompt.timestamp_ids(round(g.t_first - epoch, 1)))
        parts += [ts, g.vis]
        chunk += [i // chunk_groups] * (ts.shape[0] + g.vis.shape[0])
        is_ts += [True] * ts.shape[0] + [False] * g.vis.shape[0]
    return Sequence(torch.cat(parts), torch.tensor(chunk), torch.tensor(is_ts), len(model.prompt.prefix_ids))


def chunk_rule_mask(seq: Sequence, window: int) -> torch.Tensor:
    """Additive [1, 1, L, L] mask: causal, and a video token sees the prefix, every timestamp token, its own chunk
    and the `window` chunks before it."""
    row, col = seq.chunk[:, None], seq.chunk[None, :]
    n = seq.chunk.shape[0]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    near = (col == row) | ((col < row) & (col >= row - window))
    allowed = causal & ((col == -1) | seq.is_ts[None, :] | near)
    mask = torch.zeros(n, n).masked_fill(~allowed, float("-inf"))
    return mask[None, None]


def reference_logits(model: VideoXL2, seq: Sequence, mask: torch.Tensor | None) -> torch.Tensor:
    with torch.no_grad():
        return model.lm(inputs_embeds=seq.x[None], attention_mask=mask).logits[0]


def streamed(model: VideoXL2, n_groups: int, sink: object = None, seed: int = 0, **kw: float) -> StreamSession:
    """A session that has taken n_groups groups (one append per group)."""
    session = StreamSession("cam", model, shape(**kw), sink)  # type: ignore[arg-type]
    for g in groups(model, n_groups, seed=seed):
        session.append([g])
    return session


def stored_tensors(session: StreamSession) -> list[torch.Tensor]:
    """Clones of every tensor the session holds: prefix, each record, the open chunk."""
    out = [session.store.prefix_k, session.store.prefix_v]
    for rec in session.store.records:
        out += [rec.k, rec.v, rec.rel]
    out += list(session.open_chunk.kv())
    return [t.clone() for t in out]


class FakeClock:
    """A clock the test moves by hand (JobQueue's lag and scheduling read it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pending_group(camera: str, t: float, ready: float = 0.0) -> PendingGroup:
    """A queued group of no frames spanning [t, t + 3] s, ready at `ready` on the FakeClock."""
    return PendingGroup(camera, (), t, t + 3.0, ready)
