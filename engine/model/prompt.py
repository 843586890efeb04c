"""Token ids of the stream's text: the open user turn, a group's timestamp, a question's suffix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.model.errors import CheckpointError

PREFIX_TEXT = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
SUFFIX_TEMPLATE = "\n{question}<|im_end|>\n<|im_start|>assistant\n"
VISION_PAD = "<|vision_pad|>"  # the placeholder the reference writes 144 times per group


def timestamp_text(t: float) -> str:
    """The reference's group header, one decimal: `Time 12.5s:`."""
    return f"Time {t:.1f}s:"


@dataclass(frozen=True, slots=True)
class PromptIds:
    """Ids of every piece of text the streaming engine needs; pieces are tokenized separately, never joined."""

    prefix_ids: tuple[int, ...]
    yes_id: int
    no_id: int
    im_end_id: int
    vision_pad_id: int
    tokenizer: Any = field(repr=False, compare=False)

    def timestamp_ids(self, t: float) -> tuple[int, ...]:
        return self._encode(timestamp_text(t))

    def question_ids(self, question: str) -> tuple[int, ...]:
        return self._encode(SUFFIX_TEMPLATE.format(question=question))

    def _encode(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.encode(text, add_special_tokens=False))


def build_prompt(tokenizer: Any) -> PromptIds:
    def encode(text: str) -> tuple[int, ...]:
        return tuple(tokenizer.encode(text, add_special_tokens=False))

    return PromptIds(
        prefix_ids=encode(PREFIX_TEXT), yes_id=encode("Yes")[0], no_id=encode("No")[0],
        im_end_id=_special_id(tokenizer, "<|im_end|>"), vision_pad_id=_special_id(tokenizer, VISION_PAD),
        tokenizer=tokenizer,
    )


def _special_id(tokenizer: Any, token: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(token_id, int) or token_id == tokenizer.unk_token_id:
        raise CheckpointError(f"the tokenizer has no {token} token; a Qwen2 chat tokenizer is required")
    return token_id
