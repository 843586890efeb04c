"""Bounded memory and positions for an endless stream, and exact re-positioning of stored keys."""

from __future__ import annotations

import torch
from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

from engine.model import VideoXL2
from engine.records import EncodedGroup
from engine.rope import rope_tables, rotate
from engine.session import StreamSession
from tests.engine.stream_helpers import T0, groups, shape


def test_ten_thousand_frames_keep_tokens_bytes_and_positions_bounded(tiny_model: VideoXL2) -> None:
    torch.set_num_threads(1)
    cfg = shape(chunk_groups=4, window=3, dense_chunks=4, retention_s=120.0, fps=1.0)
    session = StreamSession("cam", tiny_model, cfg)
    vis = groups(tiny_model, 1, seed=14)[0].vis
    max_ts = max(len(tiny_model.prompt.timestamp_ids(t)) for t in (0.0, 9999.9))
    dense_chunk = cfg.chunk_groups * (max_ts + vis.shape[0])
    pooled_chunk = cfg.chunk_groups * (max_ts + vis.shape[0] // 4)
    bound_tokens = session.store.prefix_len + cfg.dense_chunks * dense_chunk + cfg.max_chunks * pooled_chunk
    bound_position = session.store.prefix_len + cfg.max_chunks * dense_chunk
    peak_tokens = peak_bytes = peak_position = 0
    for i in range(10_000 // 4):
        session.append([EncodedGroup(T0 + 4.0 * i, T0 + 4.0 * i + 3.0, vis)])
        peak_tokens = max(peak_tokens, session.tokens())
        peak_bytes = max(peak_bytes, session.nbytes())
        peak_position = max(peak_position, session.store.end_position() + session.open_chunk.tokens)
    per_token = session.nbytes() / session.tokens()
    assert session.groups_encoded == 2500
    assert len(session.store) <= cfg.max_chunks
    assert peak_tokens <= bound_tokens and peak_bytes <= bound_tokens * per_token
    assert peak_position <= bound_position
    assert session.store.records[0].t_first >= T0 + 4.0 * 2499 - cfg.retention_s - 16.0  # old chunks really left


def test_a_stored_key_moved_to_a_new_position_equals_the_models_key_there(tiny_model: VideoXL2) -> None:
    """Keys are stored before RoPE: rotating one to position b gives exactly what the model computes at b."""
    cfg = shape(chunk_groups=2, window=1, dense_chunks=2, retention_s=20.0)
    session = StreamSession("cam", tiny_model, cfg)
    gs = groups(tiny_model, 12, seed=15)
    session.append(gs[:8])
    a = session.store.starts()[-1]
    session.append(gs[8:])  # retention drops the oldest chunks: every position re-bases
    record = session.store.records[0]
    b = session.store.starts()[0]
    assert record.seq == 3 and record.sparse and b == session.store.prefix_len < a
    layer = tiny_model.lm.model.layers[0]  # layer 0's input is the token embedding alone, independent of context
    x = tiny_model.embed(tiny_model.prompt.timestamp_ids(round(record.t_first - T0, 1)))[:1]  # its first token
    stored = record.k[0, :, :1]  # [Hkv, 1, Dh], pre-RoPE
    with torch.no_grad():
        k = layer.self_attn.k_proj(layer.input_layernorm(x)).view(1, -1, tiny_model.spec.head_dim).transpose(0, 1)
        cos, sin = tiny_model.lm.model.rotary_emb(x, torch.tensor([[b]]))
        _, model_key = apply_rotary_pos_emb(k[None], k[None], cos, sin)  # the model's own key at position b
        _, model_moved = apply_rotary_pos_emb(stored[None], stored[None], cos, sin)
    moved = rotate(stored, *rope_tables(tiny_model.lm, torch.tensor([b]), stored))
    assert torch.equal(moved, model_moved[0])  # bit-exact: same RoPE, same arithmetic
    torch.testing.assert_close(moved, model_key[0], atol=1e-6, rtol=1e-5)  # k_proj batched vs alone: rounding only
