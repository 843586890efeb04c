"""Questions on a camera's cache: ground truth on a dense view, invariance of the store, batching, old chunks."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.asking import ViewPlanner
from engine.model import VideoXL2
from engine.persist import ChunkFiles
from engine.questions import answer_text, yes_no
from engine.records import EncodedGroup
from engine.session import StreamSession
from engine.tier import DenseTier
from tests.engine.stream_helpers import (
    chunk_rule_mask,
    full_sequence,
    groups,
    shape,
    stored_tensors,
    streamed,
)

QUESTIONS = ["Is the conveyor belt jammed?", "Is a person in the zone?", "Is anything on fire?"]


def _with_question(
    model: VideoXL2, gs: list[EncodedGroup], question_ids: list[int], window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The stream plus a question as one sequence; video rows follow the chunk rule, question rows see everything."""
    seq = full_sequence(model, gs, chunk_groups=2)
    x = torch.cat([seq.x, model.embed(question_ids)])
    n, total = seq.x.shape[0], x.shape[0]
    mask = torch.zeros(total, total).masked_fill(~torch.ones(total, total, dtype=torch.bool).tril(), float("-inf"))
    mask[:n, :n] = chunk_rule_mask(seq, window)[0, 0]
    return x, mask[None, None]


def _full_logits(model: VideoXL2, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.lm(inputs_embeds=x[None], attention_mask=mask).logits[0]


def test_yes_no_on_a_dense_view_equals_the_full_forward(tiny_model: VideoXL2) -> None:
    session = streamed(tiny_model, 5, seed=4, chunk_groups=2, window=1)
    view = ViewPlanner(tiny_model, top_k=0).view(session, QUESTIONS[:1], None, None)
    ids = list(tiny_model.prompt.question_ids(QUESTIONS[0]))
    x, mask = _with_question(tiny_model, groups(tiny_model, 5, seed=4), ids, window=1)
    last = _full_logits(tiny_model, x, mask)[-1, [tiny_model.prompt.yes_id, tiny_model.prompt.no_id]]
    expected = float(last.softmax(-1)[0])
    assert abs(yes_no(tiny_model, view, QUESTIONS[:1])[0] - expected) < 1e-5


def test_text_answer_equals_greedy_decoding_of_the_full_sequence(tiny_model: VideoXL2) -> None:
    session = streamed(tiny_model, 4, seed=5, chunk_groups=2, window=1)
    view = ViewPlanner(tiny_model, top_k=0).view(session, QUESTIONS[:1], None, None)
    ids = list(tiny_model.prompt.question_ids(QUESTIONS[1]))
    gs = groups(tiny_model, 4, seed=5)
    expected: list[int] = []
    for _ in range(6):  # greedy by recomputing the whole sequence each step: no cache involved
        x, mask = _with_question(tiny_model, gs, ids + expected, window=1)
        token = int(_full_logits(tiny_model, x, mask)[-1].argmax())
        if token == tiny_model.prompt.im_end_id:
            break
        expected.append(token)
    text = answer_text(tiny_model, view, QUESTIONS[1], max_tokens=6)
    assert text == tiny_model.tokenizer.decode(expected, skip_special_tokens=True)


def test_a_question_leaves_every_stored_tensor_and_position_bit_identical(tiny_model: VideoXL2, tmp_path: Path) -> None:
    files = ChunkFiles(tmp_path, "cam", tiny_model.spec.fingerprint, torch.device("cpu"))
    session = streamed(tiny_model, 11, sink=files, seed=6, chunk_groups=2, window=1, dense_chunks=1)
    before, starts = stored_tensors(session), session.store.starts()
    planner, tier = ViewPlanner(tiny_model, top_k=2), DenseTier(files, 2)
    view = planner.view(session, QUESTIONS, None, tier)
    assert view.selected_seqs  # pooled chunks really were read back dense for this question
    yes_no(tiny_model, view, QUESTIONS)
    answer_text(tiny_model, view, QUESTIONS[0], max_tokens=4)
    after = stored_tensors(session)
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert session.store.starts() == starts


def test_asking_twice_gives_the_same_answers(tiny_model: VideoXL2) -> None:
    session = streamed(tiny_model, 9, seed=7, chunk_groups=2, window=1, dense_chunks=2)
    planner = ViewPlanner(tiny_model, top_k=0)
    first = yes_no(tiny_model, planner.view(session, QUESTIONS, None, None), QUESTIONS)
    second = yes_no(tiny_model, planner.view(session, QUESTIONS, None, None), QUESTIONS)
    assert first == second
    text = [answer_text(tiny_model, planner.view(session, QUESTIONS[:1], None, None), QUESTIONS[0], 5) for _ in "ab"]
    assert text[0] == text[1]


def test_a_question_does_not_change_the_next_prefill(tiny_model: VideoXL2) -> None:
    asked = streamed(tiny_model, 5, seed=8, chunk_groups=2, window=1, dense_chunks=1)
    quiet = streamed(tiny_model, 5, seed=8, chunk_groups=2, window=1, dense_chunks=1)
    yes_no(tiny_model, ViewPlanner(tiny_model, top_k=0).view(asked, QUESTIONS, None, None), QUESTIONS)
    more = groups(tiny_model, 3, seed=9, first=5)
    assert torch.equal(asked.append(more), quiet.append(more))


def test_batched_yes_no_equals_one_by_one_on_a_view_with_pooled_chunks(tiny_model: VideoXL2) -> None:
    session = streamed(tiny_model, 10, seed=10, chunk_groups=2, window=1, dense_chunks=1)
    view = ViewPlanner(tiny_model, top_k=0).view(session, QUESTIONS, None, None)
    assert view.sparse_seqs and view.dense_seqs
    batched = yes_no(tiny_model, view, QUESTIONS)
    alone = [yes_no(tiny_model, view, [q])[0] for q in QUESTIONS]
    assert len(set(batched)) == 3
    torch.testing.assert_close(torch.tensor(batched), torch.tensor(alone), atol=1e-6, rtol=0)


def test_an_old_chunk_stays_in_the_view_pooled_or_selected(tiny_model: VideoXL2, tmp_path: Path) -> None:
    files = ChunkFiles(tmp_path, "cam", tiny_model.spec.fingerprint, torch.device("cpu"))
    session = streamed(tiny_model, 16, sink=files, seed=11, chunk_groups=2, window=1, dense_chunks=2)
    pooled = ViewPlanner(tiny_model, top_k=0).view(session, QUESTIONS[:1], None, None)
    assert 0 in pooled.sparse_seqs
    planner = ViewPlanner(tiny_model, top_k=7)  # every pooled chunk selected: the oldest comes back dense
    selected = planner.view(session, QUESTIONS[:1], None, DenseTier(files, 7))
    assert 0 in selected.selected_seqs and 0 in selected.dense_seqs and not selected.sparse_seqs
    recent = ViewPlanner(tiny_model, top_k=0).view(session, QUESTIONS[:1], 10.0, None)
    assert 0 not in recent.dense_seqs + recent.sparse_seqs  # window_s: only the last seconds


def test_a_selected_chunk_is_read_back_exactly_as_it_was_prefilled(tiny_model: VideoXL2, tmp_path: Path) -> None:
    files = ChunkFiles(tmp_path, "cam", tiny_model.spec.fingerprint, torch.device("cpu"))
    pooled = streamed(tiny_model, 8, sink=files, seed=12, chunk_groups=2, window=1, dense_chunks=1)
    dense = streamed(tiny_model, 8, seed=12, chunk_groups=2, window=1, dense_chunks=64)
    original = dense.store.records[1]
    assert pooled.store.records[1].sparse
    back = DenseTier(files, 1).dense(pooled.store.records[1])
    assert back is not None and torch.equal(back.k, original.k) and torch.equal(back.v, original.v)


def test_relevance_score_is_the_mean_attention_logit_without_rope(tiny_model: VideoXL2) -> None:
    gs = groups(tiny_model, 4, seed=13)
    session = StreamSession("cam", tiny_model, shape(chunk_groups=2, window=1), None)
    session.append(gs)
    planner = ViewPlanner(tiny_model, top_k=1)
    scores = planner.scores(session, list(session.store.records), QUESTIONS[:1])
    layer = tiny_model.lm.model.layers[1]  # the middle layer of two
    seq = full_sequence(tiny_model, gs, chunk_groups=2)
    q_ids = list(tiny_model.prompt.prefix_ids) + list(tiny_model.prompt.question_ids(QUESTIONS[0]))
    with torch.no_grad():
        video_h = tiny_model.lm(inputs_embeds=seq.x[None], attention_mask=chunk_rule_mask(seq, 1),
                                output_hidden_states=True).hidden_states[1][0]
        question_h = tiny_model.lm(input_ids=torch.tensor([q_ids]), output_hidden_states=True).hidden_states[1][0]
        k = layer.self_attn.k_proj(layer.input_layernorm(video_h))  # [L, Hkv*Dh]
        q = layer.self_attn.q_proj(layer.input_layernorm(question_h))[len(tiny_model.prompt.prefix_ids):]
    dims = tiny_model.spec
    q = q.view(q.shape[0], dims.num_heads, dims.head_dim)
    k = k.view(k.shape[0], dims.num_kv_heads, dims.head_dim).repeat_interleave(dims.num_heads // dims.num_kv_heads, 1)
    logits = torch.einsum("qhd,khd->qkh", q, k) / dims.head_dim**0.5  # every pair, every head
    vis = ~seq.is_ts & (seq.chunk >= 0)
    expected = []
    for c in range(2):
        per_group = []
        for g in range(2):
            idx = torch.nonzero(vis & (seq.chunk == c)).flatten()
            sizes = tiny_model.spec.tokens_per_group
            per_group.append(logits[:, idx[g * sizes : (g + 1) * sizes]].mean())
        expected.append(max(per_group))
    torch.testing.assert_close(scores, torch.stack(expected), atol=1e-5, rtol=1e-4)


def test_a_view_serves_every_question_until_the_next_append(tiny_model: VideoXL2) -> None:
    session = streamed(tiny_model, 5, seed=16, chunk_groups=2, window=1)
    planner = ViewPlanner(tiny_model, top_k=0)
    first = planner.view(session, QUESTIONS[:1], None, None)
    answers = yes_no(tiny_model, first, QUESTIONS)
    assert planner.view(session, QUESTIONS[1:], None, None) is first
    assert yes_no(tiny_model, first, QUESTIONS) == answers  # questions write only past the view
    session.append(groups(tiny_model, 1, seed=17, first=5))
    assert planner.view(session, QUESTIONS[:1], None, None) is not first
