"""Cameras batched in the engine thread: their groups encoded in shared vision passes, their prefills in shared
language-model forwards, each camera against its own chunk-rule context (engine/lanes.py).

Everything here is stepwise (engine/model/steps.py): it yields after every vision layer, DTS block and language
model layer, and a session changes only in `commit`, so the engine thread can answer questions between any two
steps and a question always sees each camera's cache as it was before or after a whole piece, never half of one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.lanes import Lane, run_lanes, scratch_for_contexts
from engine.prefill_piece import PrefillPiece
from engine.protocols import StreamModel
from engine.records import EncodedGroup
from engine.session import StreamSession
from engine.steps import Steps

Planned = tuple[StreamSession, PrefillPiece]


def encode_cameras(
    model: StreamModel, pixels: Sequence[torch.Tensor], groups_per_pass: int
) -> Steps[list[torch.Tensor]]:
    """Each camera's frames [4G_b, 3, S, S] through the vision side together: returns [G_b, V, D] per camera.
    Groups never interact, so a camera's result does not depend on which others share its passes."""
    vis = yield from model.encode_steps(torch.cat(list(pixels)), groups_per_pass)  # [sum G_b, V, D]
    return list(torch.split(vis, [int(p.shape[0]) // 4 for p in pixels]))


def prefill_cameras(
    model: StreamModel, work: Sequence[tuple[StreamSession, Sequence[EncodedGroup]]], max_tokens: int
) -> Steps[None]:
    """Append each camera's groups (one session per camera, at most once in `work`), in as few forwards as the
    chunk rule allows: a camera's groups that cross a chunk boundary need a second forward after the seal."""
    sessions = [session for session, _ in work]
    if len({id(s) for s in sessions}) != len(sessions):
        raise ValueError("prefill_cameras takes each camera's session once; merge its groups first")
    rest = [(session, list(groups)) for session, groups in work if groups]
    while rest:
        planned = []
        for session, groups in rest:
            planned.append((session, session.plan(groups[: session.room()])))
            yield  # assembling a context copies the camera's window: a step of its own
        for batch in token_batches(planned, max_tokens):
            yield from _prefill(model, batch)
        rest = [
            (session, groups[piece.groups :])
            for (session, groups), (_, piece) in zip(rest, planned, strict=True)
            if len(groups) > piece.groups
        ]


def token_batches(planned: Sequence[Planned], max_tokens: int) -> list[list[Planned]]:
    """Consecutive pieces, at most `max_tokens` new tokens per forward (a single larger piece goes alone)."""
    batches: list[list[Planned]] = []
    total = 0
    for item in planned:
        if not batches or total + item[1].tokens > max_tokens:
            batches.append([])
            total = 0
        batches[-1].append(item)
        total += item[1].tokens
    return batches


def _prefill(model: StreamModel, batch: Sequence[Planned]) -> Steps[None]:
    lanes = [Lane(piece.x, piece.positions, piece.own_mask()) for _, piece in batch]
    scratch = scratch_for_contexts(model.lm, [piece.context for _, piece in batch], lanes)
    yield
    outputs = yield from run_lanes(model.lm, lanes, scratch)
    for (session, piece), out in zip(batch, outputs, strict=True):
        session.commit(piece, out.k_pre, out.v)  # a seal pools and persists a chunk: a step of its own
        yield
