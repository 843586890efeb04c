"""Cameras batched in one forward give what each camera gives alone: encode, prefill (KV) and yes/no (P(yes)).

Each camera is streamed twice from the same groups: once alone (StreamSession.append, the per-camera path that
tests/engine/test_stream_chunk_rule.py holds to the full forward), once with the other cameras in shared forwards.
The cameras differ in context length, in how full their open chunk is (half-open chunks, pieces that cross a chunk
boundary) and in their chunk and window sizes.
"""

from __future__ import annotations

import pytest
import torch

from engine.asking import ViewPlanner
from engine.batching import encode_cameras, prefill_cameras, token_batches
from engine.model import VideoXL2, load_model
from engine.question_lanes import yes_no_lanes
from engine.questions import yes_no
from engine.records import EncodedGroup
from engine.session import StreamSession
from engine.steps import drain
from tests.engine.stream_helpers import frames, groups, shape, stored_tensors

TOL = 1e-5
QUESTIONS = ["Is the conveyor belt jammed?", "Is a person in the zone?", "Is anything on fire?"]
# (chunk_groups, window, groups already streamed, new groups in the batched round)
CAMERAS = [(2, 1, 0, 1), (2, 1, 3, 3), (3, 2, 7, 2), (4, 3, 13, 4), (1, 1, 5, 2)]


def _pair(model: VideoXL2, cam: int) -> tuple[StreamSession, StreamSession, list[EncodedGroup]]:
    """Two identical sessions of camera `cam` after its history, and the groups of its next round."""
    chunk, window, before, new = CAMERAS[cam]
    history = groups(model, before + new, seed=10 + cam)
    pair = []
    for _ in range(2):
        session = StreamSession(f"cam{cam}", model, shape(chunk_groups=chunk, window=window, dense_chunks=window))
        for g in history[:before]:
            session.append([g])
        pair.append(session)
    return pair[0], pair[1], history[before:]


def _assert_close(a: list[torch.Tensor], b: list[torch.Tensor], tol: float) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape and x.dtype == y.dtype
        assert x.numel() == 0 or float((x.float() - y.float()).abs().max()) <= tol


def _layout(session: StreamSession) -> tuple[object, ...]:
    records = [(r.seq, r.layout, r.t_first, r.t_last) for r in session.views()]
    return (tuple(records), tuple(session.store.starts()), session.tokens(), session.groups_encoded)


@pytest.mark.parametrize("max_tokens", [100_000, 200])
def test_batched_prefill_equals_each_camera_alone(tiny_model: VideoXL2, max_tokens: int) -> None:
    pairs = [_pair(tiny_model, cam) for cam in range(len(CAMERAS))]
    for alone, _, new in pairs:
        alone.append(new)
    drain(prefill_cameras(tiny_model, [(batched, new) for _, batched, new in pairs], max_tokens))
    for alone, batched, _ in pairs:
        assert _layout(batched) == _layout(alone)
        _assert_close(stored_tensors(batched), stored_tensors(alone), TOL)


def test_token_batches_respect_the_budget_and_keep_order(tiny_model: VideoXL2) -> None:
    sessions = [StreamSession(f"c{i}", tiny_model, shape(chunk_groups=4)) for i in range(5)]
    planned = [(s, s.plan(groups(tiny_model, 1 + i % 2, seed=i))) for i, s in enumerate(sessions)]
    sizes = [p.tokens for _, p in planned]
    batches = token_batches(planned, max(sizes) + min(sizes))
    assert [item for batch in batches for item in batch] == planned
    assert all(sum(p.tokens for _, p in batch) <= max(sizes) + min(sizes) for batch in batches)
    assert len(batches) < len(planned)


def test_a_camera_twice_in_one_prefill_is_refused(tiny_model: VideoXL2) -> None:
    session = StreamSession("cam", tiny_model, shape())
    gs = groups(tiny_model, 2)
    with pytest.raises(ValueError, match="once"):
        drain(prefill_cameras(tiny_model, [(session, gs[:1]), (session, gs[1:])], 10_000))


@pytest.mark.parametrize("groups_per_pass", [1, 3, 8])
def test_batched_encode_equals_each_camera_alone(tiny_model: VideoXL2, groups_per_pass: int) -> None:
    pixels = [tiny_model.preprocess(frames(4 * n, seed=20 + n)) for n in (1, 3, 2)]
    together = drain(encode_cameras(tiny_model, pixels, groups_per_pass))
    _assert_close(together, [tiny_model.encode_groups(p) for p in pixels], TOL)


@pytest.mark.parametrize("padded", [True, False])
def test_batched_yes_no_equals_each_view_alone(tiny_model: VideoXL2, padded: bool) -> None:
    planner = ViewPlanner(tiny_model, top_k=0)
    asks = []
    for cam in range(3):
        session, _, new = _pair(tiny_model, cam + 1)
        session.append(new)
        asks.append((planner.view(session, QUESTIONS, None, None), QUESTIONS[: cam + 1]))
    assert len({view.length for view, _ in asks}) == 3  # different view lengths: padding is exercised
    asks.append(asks[0])  # the same view twice in one batch (two jobs of one camera)
    alone = [yes_no(tiny_model, view, questions) for view, questions in asks]
    stored = [(view.k.clone(), view.v.clone(), view.length) for view, _ in asks]
    together = yes_no_lanes(tiny_model, asks, padded=padded)
    for (view, _), (k, v, length) in zip(asks, stored, strict=True):  # the views themselves are untouched
        assert view.length == length and torch.equal(view.k[:, :, :length], k[:, :, :length])
        assert torch.equal(view.v[:, :, :length], v[:, :, :length])
    for a, b in zip(alone, together, strict=True):
        assert len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= TOL


def test_batching_runs_in_bfloat16_and_matches_alone_to_its_rounding() -> None:
    model = load_model("tiny", seed=0, dtype=torch.bfloat16)
    pairs = [_pair(model, cam) for cam in (1, 2)]
    for alone, _, new in pairs:
        alone.append(new)
    drain(prefill_cameras(model, [(batched, new) for _, batched, new in pairs], 100_000))
    for alone, batched, _ in pairs:
        assert _layout(batched) == _layout(alone)
        assert all(t.dtype == torch.bfloat16 for t in stored_tensors(batched))
        _assert_close(stored_tensors(batched), stored_tensors(alone), 0.1)
    planner = ViewPlanner(model, top_k=0)
    asks = [(planner.view(batched, QUESTIONS, None, None), QUESTIONS[:2]) for _, batched, _ in pairs]
    alone_p = [yes_no(model, view, questions) for view, questions in asks]
    for padded in (True, False):
        together = yes_no_lanes(model, asks, padded=padded)
        assert max(abs(x - y) for a, b in zip(alone_p, together, strict=True)
                   for x, y in zip(a, b, strict=True)) < 0.05


def test_batched_kv_differs_from_alone_only_by_rounding(tiny_model: VideoXL2) -> None:
    """The equality above is not vacuous: batched and alone are different computations (padded attention, packed
    projections) that agree to float rounding, and a camera's KV is not its neighbour's."""
    pairs = [_pair(tiny_model, cam) for cam in (1, 2)]
    for alone, _, new in pairs:
        alone.append(new)
    drain(prefill_cameras(tiny_model, [(batched, new) for _, batched, new in pairs], 100_000))
    mine, theirs = pairs[0][1].views()[-1].k, pairs[1][1].views()[-1].k
    n = min(mine.shape[2], theirs.shape[2])
    assert float((mine[:, :, :n] - theirs[:, :, :n]).abs().max()) > 1e-2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)")
def test_batching_on_cuda_in_bfloat16_matches_alone() -> None:
    model = load_model("tiny", seed=0, device="cuda", dtype=torch.bfloat16)
    pairs = [_pair(model, cam) for cam in (0, 2, 3)]
    for alone, _, new in pairs:
        alone.append(new)
    drain(prefill_cameras(model, [(batched, new) for _, batched, new in pairs], 100_000))
    for alone, batched, _ in pairs:
        assert _layout(batched) == _layout(alone)
        assert all(t.device.type == "cuda" for t in stored_tensors(batched))
        _assert_close(stored_tensors(batched), stored_tensors(alone), 0.1)


def test_a_stale_view_next_to_its_extension_is_refused_not_corrupted(tiny_model: VideoXL2) -> None:
    """A view extended after an append takes over its stale predecessor's buffer; asking both in one in-place batch
    would write the stale one's question tokens into the new view's context."""
    planner = ViewPlanner(tiny_model, top_k=0)
    session, _, new = _pair(tiny_model, 2)
    stale = planner.view(session, QUESTIONS, None, None)
    session.append(new[:1])
    fresh = planner.view(session, QUESTIONS, None, None)
    assert fresh.k.data_ptr() == stale.k.data_ptr() and fresh.length > stale.length  # extended in place
    kept = fresh.k[:, :, : fresh.length].clone()
    with pytest.raises(ValueError, match="stale question view"):
        yes_no_lanes(tiny_model, [(stale, QUESTIONS[:2]), (fresh, QUESTIONS[:1])], padded=False)
    assert torch.equal(fresh.k[:, :, : fresh.length], kept)
    assert yes_no_lanes(tiny_model, []) == []
