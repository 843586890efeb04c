"""VideoXL2: frames -> 144 embeddings per 4-frame group, text -> embeddings, and the Qwen2 language model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import Cache, Qwen2ForCausalLM

from engine.api import ModelIdentity
from engine.model.dts import DTS, group_layout
from engine.model.errors import ModelInputError
from engine.model.projector import build_projector, pool_2x2
from engine.model.prompt import PromptIds
from engine.model.spec import FRAMES_PER_GROUP, ModelSpec, qwen2_config
from engine.model.vision import VisionTrunk, preprocess_frames
from engine.steps import Steps, drain

GROUPS_PER_PASS = 8  # bounds activation memory of one vision/DTS pass (32 frames)


class VideoXL2(nn.Module):
    """The whole network. Built by `load_model`; `tokenizer`, `prompt` and the spec's fingerprint are set there."""

    spec: ModelSpec
    tokenizer: Any
    prompt: PromptIds
    identity: ModelIdentity  # set by load_model: which weights these are, trained or not

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.vision = VisionTrunk(spec)
        self.dts = DTS(spec.vision_hidden, spec.dts_norm_groups, spec.dts_max_relative)
        self.projector = build_projector(spec.vision_hidden, spec.hidden_size)
        self.lm = Qwen2ForCausalLM(qwen2_config(spec))
        self.identity = ModelIdentity(spec.preset, None, spec.fingerprint, trained=False)

    @property
    def device(self) -> torch.device:
        weight: torch.Tensor = self.lm.lm_head.weight
        return weight.device

    @property
    def dtype(self) -> torch.dtype:
        weight: torch.Tensor = self.lm.lm_head.weight
        return weight.dtype

    def preprocess(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """BGR uint8 [H, W, 3] frames -> [N, 3, S, S] on the model's device and dtype."""
        pixels = preprocess_frames(images, self.spec.image_size)
        return pixels.to(device=self.device, dtype=self.dtype)

    @torch.no_grad()
    def encode_groups(self, pixels: torch.Tensor) -> torch.Tensor:
        """[4G, 3, S, S] -> [G, tokens_per_group, D]; groups never interact, so any split gives the same result."""
        return drain(self.encode_steps(pixels, GROUPS_PER_PASS))

    def encode_steps(self, pixels: torch.Tensor, groups_per_pass: int) -> Steps[torch.Tensor]:
        """encode_groups, yielding after every vision layer and DTS block of every pass of `groups_per_pass`
        groups; the caller wraps it in inference mode. Returns [G, tokens_per_group, D]."""
        self._check_pixels(pixels)
        parts = []
        for part in torch.split(pixels, max(1, groups_per_pass) * FRAMES_PER_GROUP):
            parts.append((yield from self._encode_pass(part)))
        return torch.cat(parts)

    def _encode_pass(self, pixels: torch.Tensor) -> Steps[torch.Tensor]:
        features = yield from self.vision.steps(pixels.to(device=self.device, dtype=self.dtype))  # [4G, C, g, g]
        merged = yield from self.dts.steps(group_layout(features))  # [G, grid*grid, C]
        projected = self.projector(merged)  # [G, grid*grid, D]
        return pool_2x2(projected, self.spec.grid)  # [G, tokens_per_group, D]

    def _check_pixels(self, pixels: torch.Tensor) -> None:
        size = self.spec.image_size
        if pixels.ndim != 4 or tuple(pixels.shape[1:]) != (3, size, size):
            raise ModelInputError(f"encode_groups needs pixels [4G, 3, {size}, {size}]; got {tuple(pixels.shape)}")
        if pixels.shape[0] == 0 or pixels.shape[0] % FRAMES_PER_GROUP:
            raise ModelInputError(
                f"encode_groups needs a positive multiple of {FRAMES_PER_GROUP} frames; got {pixels.shape[0]} "
                "(pad the last group with copies of its last frame)"
            )

    @torch.no_grad()
    def embed(self, ids: Sequence[int]) -> torch.Tensor:
        """[L] token ids -> [L, D] input embeddings of the language model."""
        index = torch.tensor(list(ids), dtype=torch.long, device=self.device)
        embeddings: torch.Tensor = self.lm.model.embed_tokens(index)
        return embeddings

    @torch.no_grad()
    def lm_forward(self, embeds: torch.Tensor, cache: Cache | None, position_ids: torch.Tensor | None = None,
                   logits_to_keep: int = 1) -> torch.Tensor:
        """Run [B, L, D] embeddings over `cache` (updated in place); returns the last `logits_to_keep` logits."""
        out = self.lm(inputs_embeds=embeds, cache=cache, use_cache=cache is not None, position_ids=position_ids,
                      logits_to_keep=logits_to_keep)
        logits: torch.Tensor = out.logits  # [B, logits_to_keep, V]
        return logits
