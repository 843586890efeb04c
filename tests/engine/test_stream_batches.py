"""Each question gets the answer it gets alone, in any batch; a cached view is extended, never rebuilt, on append."""

from __future__ import annotations

import random
from pathlib import Path

import torch

from engine.asking import ViewPlanner
from engine.model import VideoXL2
from engine.persist import ChunkFiles
from engine.questions import yes_no
from engine.session import StreamSession
from engine.tier import DenseTier
from engine.views import QuestionView, build_view
from tests.engine.stream_helpers import groups, streamed

QUESTIONS = [
    f"Is {thing} {state}?"
    for thing in ("the conveyor belt", "a person", "the loading door", "smoke")
    for state in ("visible", "moving", "in the restricted zone")
]


def _session_with_disk(model: VideoXL2, tmp_path: Path, n: int = 14, seed: int = 20) -> tuple[StreamSession, DenseTier]:
    files = ChunkFiles(tmp_path, "cam", model.spec.fingerprint, torch.device("cpu"))
    session = streamed(model, n, sink=files, seed=seed, chunk_groups=2, window=1, dense_chunks=1)
    return session, DenseTier(files, 8)


def test_any_question_in_any_batch_equals_the_same_question_alone(tiny_model: VideoXL2, tmp_path: Path) -> None:
    session, tier = _session_with_disk(tiny_model, tmp_path)
    planner = ViewPlanner(tiny_model, top_k=1)
    records = session.views()
    selections = {q: frozenset(planner.select(session, records, [q])) for q in QUESTIONS}
    assert len(set(selections.values())) > 1  # the questions really disagree on what is relevant
    alone = {q: planner.yes_no(session, [q], None, tier)[0][0] for q in QUESTIONS}
    rng = random.Random(3)
    for _ in range(12):
        batch = rng.sample(QUESTIONS, rng.randint(2, len(QUESTIONS)))
        batched, _ = planner.yes_no(session, batch, None, tier)
        for question, p in zip(batch, batched, strict=True):
            assert abs(p - alone[question]) <= 1e-6, (question, batch)  # packed forward: float rounding only


def test_a_question_sees_its_own_selection_whatever_it_is_asked_with(tiny_model: VideoXL2, tmp_path: Path) -> None:
    session, tier = _session_with_disk(tiny_model, tmp_path, seed=21)
    planner = ViewPlanner(tiny_model, top_k=1)
    seen: dict[str, tuple[int, ...]] = {}

    def record(view: QuestionView, indices: list[int]) -> list[None]:
        for i in indices:
            seen[QUESTIONS[i]] = view.selected_seqs
        return [None] * len(indices)

    planner.each_view(session, QUESTIONS, None, tier, record)
    for question in QUESTIONS:
        own = planner.view(session, [question], None, tier)
        assert seen[question] == own.selected_seqs


def test_an_extended_view_is_bit_identical_to_a_fresh_one(tiny_model: VideoXL2, tmp_path: Path) -> None:
    files = ChunkFiles(tmp_path, "cam", tiny_model.spec.fingerprint, torch.device("cpu"))
    session = streamed(tiny_model, 9, sink=files, seed=22, chunk_groups=2, window=1, dense_chunks=1, retention_s=40)
    tier, planner = DenseTier(files, 4), ViewPlanner(tiny_model, top_k=2)
    question = QUESTIONS[:1]
    old = planner.view(session, question, None, tier)
    in_place = 0
    for i, g in enumerate(groups(tiny_model, 6, seed=23, first=9)):  # grows the open chunk, seals, pools, drops
        session.append([g])
        view = planner.view(session, question, None, tier)
        in_place += view.k.data_ptr() == old.k.data_ptr()
        selected = set(view.selected_seqs)
        prefix = (session.store.prefix_k, session.store.prefix_v)
        fresh = build_view(tiny_model.lm, prefix, session.views(), selected, tier, 256)
        assert view.parts == fresh.parts, i
        assert torch.equal(view.k[:, :, : view.length], fresh.k[:, :, : fresh.length]), i
        assert torch.equal(view.v[:, :, : view.length], fresh.v[:, :, : fresh.length]), i
        assert yes_no(tiny_model, view, question) == yes_no(tiny_model, fresh, question)
        old = view
    assert in_place >= 2  # appends inside the open chunk extended the view in its own buffer


def test_cached_views_count_in_the_camera_bytes_and_stay_bounded(tiny_model: VideoXL2, tmp_path: Path) -> None:
    session, tier = _session_with_disk(tiny_model, tmp_path, seed=24)
    sizes = {}
    for per_camera in (0, 1, 2):
        planner = ViewPlanner(tiny_model, top_k=1, per_camera=per_camera)
        assert planner.view_bytes("cam") == 0
        answers, _ = planner.yes_no(session, QUESTIONS, None, tier)
        views = [planner.view(session, [q], None, tier) for q in QUESTIONS]
        largest = max(v.nbytes for v in views)
        sizes[per_camera] = planner.view_bytes("cam")
        assert sizes[per_camera] <= per_camera * largest  # never more than per_camera views of this camera
        assert answers == ViewPlanner(tiny_model, top_k=1, per_camera=0).yes_no(session, QUESTIONS, None, tier)[0]
        planner.forget("cam")
        assert planner.view_bytes("cam") == 0
    assert sizes[0] == 0 < sizes[1] < sizes[2]  # distinct selections: two views held when two are allowed
