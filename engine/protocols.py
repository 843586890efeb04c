"""What the streaming half of the engine needs from a model: the language model, the prompt ids, a vision encoder.

`engine.model.VideoXL2` satisfies these structurally; tests of the KV mechanics satisfy them with a bare
transformers Qwen2 and random "visual" embeddings, so the cache bookkeeping never depends on the vision tower.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch
from transformers import Qwen2ForCausalLM

from engine.api import ModelIdentity
from engine.steps import Steps


class PromptIds(Protocol):
    """Token ids of the fixed parts of the Video-XL-2 prompt."""

    @property
    def prefix_ids(self) -> Sequence[int]: ...

    @property
    def yes_id(self) -> int: ...

    @property
    def no_id(self) -> int: ...

    @property
    def im_end_id(self) -> int: ...

    def timestamp_ids(self, t: float) -> Sequence[int]: ...

    def question_ids(self, question: str) -> Sequence[int]: ...


class ModelSpec(Protocol):
    @property
    def image_size(self) -> int: ...

    @property
    def tokens_per_group(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...


class Decoder(Protocol):
    def decode(self, ids: Sequence[int], skip_special_tokens: bool = ...) -> Any: ...


class StreamModel(Protocol):
    """The model as the engine uses it; `engine.model.VideoXL2` is the real one."""

    @property
    def lm(self) -> Qwen2ForCausalLM: ...

    @property
    def prompt(self) -> PromptIds: ...

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def tokenizer(self) -> Decoder: ...

    @property
    def identity(self) -> ModelIdentity: ...

    def embed(self, ids: Sequence[int]) -> torch.Tensor: ...  # -> [L, D]

    def preprocess(self, images: Sequence[npt.NDArray[np.uint8]]) -> torch.Tensor: ...  # -> [N, 3, S, S]

    def encode_groups(self, pixels: torch.Tensor) -> torch.Tensor: ...  # [4G, 3, S, S] -> [G, V, D]

    def encode_steps(self, pixels: torch.Tensor, groups_per_pass: int) -> Steps[torch.Tensor]: ...  # [G, V, D]
