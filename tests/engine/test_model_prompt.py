"""What the streaming engine takes from the model: prompt ids, preprocessing, group encoding, embeddings, LM forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import DynamicCache

from engine.model import ModelInputError, VideoXL2, load_model


def _decode(model: VideoXL2, ids: tuple[int, ...]) -> str:
    return str(model.tokenizer.decode(list(ids)))


def test_prompt_pieces_decode_to_the_reference_chat_layout(tiny_model: VideoXL2) -> None:
    prompt = tiny_model.prompt
    assert _decode(tiny_model, prompt.prefix_ids) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
    assert _decode(tiny_model, prompt.question_ids("Is the belt jammed?")) == (
        "\nIs the belt jammed?<|im_end|>\n<|im_start|>assistant\n")
    assert prompt.im_end_id in prompt.question_ids("x")
    assert _decode(tiny_model, (prompt.yes_id,)) == "Yes" and _decode(tiny_model, (prompt.no_id,)) == "No"
    assert _decode(tiny_model, (prompt.vision_pad_id,)) == "<|vision_pad|>"


@pytest.mark.parametrize(("t", "text"), [(0.0, "Time 0.0s:"), (12.54, "Time 12.5s:"), (123.45, "Time 123.5s:"),
                                         (9876.0, "Time 9876.0s:")])
def test_timestamp_ids_spell_one_decimal_with_one_token_per_digit(tiny_model: VideoXL2, t: float, text: str) -> None:
    ids = tiny_model.prompt.timestamp_ids(t)
    assert _decode(tiny_model, ids) == text
    digits = len(text.split()[1].split(".")[0])
    assert len(ids) == 6 + digits  # "Time", " ", digits, ".", digit, "s", ":" as in Qwen's tokenizer


def test_preprocess_converts_bgr_to_rgb_in_minus_one_to_one(tiny_model: VideoXL2) -> None:
    blue_bgr = np.zeros((30, 50, 3), dtype=np.uint8)
    blue_bgr[..., 0] = 255
    pixels = tiny_model.preprocess([blue_bgr, blue_bgr])
    size = tiny_model.spec.image_size
    assert pixels.shape == (2, 3, size, size)
    assert torch.all(pixels[:, 2] == 1.0) and torch.all(pixels[:, :2] == -1.0)


def test_preprocess_rejects_frames_that_are_not_bgr_uint8(tiny_model: VideoXL2) -> None:
    with pytest.raises(ModelInputError, match="BGR uint8"):
        tiny_model.preprocess([np.zeros((8, 8), dtype=np.uint8)])


def test_groups_are_encoded_independently_of_batching(tiny_model: VideoXL2) -> None:
    frames = [np.random.default_rng(i).integers(0, 256, (24, 32, 3), dtype=np.uint8) for i in range(12)]
    pixels = tiny_model.preprocess(frames)
    together = tiny_model.encode_groups(pixels)
    apart = torch.cat([tiny_model.encode_groups(pixels[i:i + 4]) for i in range(0, 12, 4)])
    assert together.shape == (3, tiny_model.spec.tokens_per_group, tiny_model.spec.hidden_size)
    torch.testing.assert_close(together, apart, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(together[0], together[1])


def test_chunked_lm_forward_over_a_cache_equals_one_full_forward(tiny_model: VideoXL2) -> None:
    frames = [np.full((16, 16, 3), 20 * i, dtype=np.uint8) for i in range(8)]
    tokens = tiny_model.encode_groups(tiny_model.preprocess(frames))
    prompt = tiny_model.prompt
    pieces = [tiny_model.embed(prompt.prefix_ids), tiny_model.embed(prompt.timestamp_ids(0.0)), tokens[0],
              tiny_model.embed(prompt.timestamp_ids(2.0)), tokens[1], tiny_model.embed(prompt.question_ids("Q?"))]
    cache = DynamicCache(config=tiny_model.lm.config)
    for piece in pieces:
        last = tiny_model.lm_forward(piece[None], cache)
    full = tiny_model.lm_forward(torch.cat(pieces)[None], None)
    assert cache.get_seq_length() == sum(len(piece) for piece in pieces)
    torch.testing.assert_close(last, full, rtol=1e-4, atol=1e-5)


def test_bfloat16_model_encodes_in_bfloat16() -> None:
    model = load_model("tiny", dtype=torch.bfloat16)
    tokens = model.encode_groups(model.preprocess([np.zeros((16, 16, 3), dtype=np.uint8)] * 4))
    assert tokens.dtype == torch.bfloat16 and bool(torch.isfinite(tokens).all())
    assert model.lm.model.rotary_emb.inv_freq.dtype == torch.float32
