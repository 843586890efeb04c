"""Streaming prefill against ground truth: one full forward of the same sequence under an explicit 4-D mask."""

from __future__ import annotations

import torch

from engine.layers import logits_of
from engine.model import VideoXL2
from engine.records import EncodedGroup
from engine.session import StreamSession
from tests.engine.stream_helpers import chunk_rule_mask, full_sequence, groups, reference_logits, shape


def _stream(model: VideoXL2, gs: list[EncodedGroup], splits: list[int], **kw: float) -> torch.Tensor:
    session = StreamSession("cam", model, shape(**kw))
    hidden, i = [], 0
    for n in splits:
        hidden.append(session.append(gs[i : i + n]))
        i += n
    assert i == len(gs)
    return logits_of(model.lm, torch.cat(hidden))


def test_streamed_chunks_equal_full_forward_under_chunk_rule_mask(tiny_model: VideoXL2) -> None:
    gs = groups(tiny_model, 10, seed=1)  # 5 chunks of 2 groups, window 1: chunks 2.. see only timestamps of 0..
    streamed = _stream(tiny_model, gs, [1, 1, 3, 2, 1, 2], chunk_groups=2, window=1)
    seq = full_sequence(tiny_model, gs, chunk_groups=2)
    expected = reference_logits(tiny_model, seq, chunk_rule_mask(seq, window=1))[seq.prefix_len :]
    torch.testing.assert_close(streamed, expected, atol=2e-5, rtol=1e-4)
    plain = reference_logits(tiny_model, seq, None)[seq.prefix_len :]
    assert not torch.allclose(streamed, plain, atol=1e-3)  # the rule really hides the far chunks' visual tokens


def test_streaming_with_window_covering_all_chunks_equals_plain_causal_forward(tiny_model: VideoXL2) -> None:
    gs = groups(tiny_model, 6, seed=2)
    streamed = _stream(tiny_model, gs, [2, 4], chunk_groups=2, window=3)
    seq = full_sequence(tiny_model, gs, chunk_groups=2)
    expected = reference_logits(tiny_model, seq, None)[seq.prefix_len :]
    torch.testing.assert_close(streamed, expected, atol=2e-5, rtol=1e-4)


def test_group_by_group_prefill_equals_whole_chunk_prefill(tiny_model: VideoXL2) -> None:
    gs = groups(tiny_model, 8, seed=3)
    one_by_one = _stream(tiny_model, gs, [1] * 8, chunk_groups=4, window=1)
    whole = _stream(tiny_model, gs, [4, 4], chunk_groups=4, window=1)
    torch.testing.assert_close(one_by_one, whole, atol=2e-5, rtol=1e-4)
