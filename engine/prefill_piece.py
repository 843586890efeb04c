"""One prefill of a camera's new groups, planned by its StreamSession and run alone or batched with others."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.chunk_rule import Context
from engine.masks import causal_after


@dataclass(frozen=True)
class PrefillPiece:
    """New tokens that all fall in the open chunk: `Time {t}s:` + visual tokens per group, with their context."""

    x: torch.Tensor  # [T, D] input embeddings
    positions: torch.Tensor  # [T] stream positions (long)
    context: Context  # pre-RoPE keys, values, positions [S] under the chunk rule
    ts_lens: tuple[int, ...]  # timestamp tokens per group
    vis_slices: tuple[slice, ...]  # where each group's visual tokens are in x
    t_first: float  # Unix seconds of the first group's first frame
    t_last: float  # Unix seconds of the last group's last frame

    @property
    def groups(self) -> int:
        return len(self.ts_lens)

    @property
    def tokens(self) -> int:
        return int(self.x.shape[0])

    def mask(self) -> torch.Tensor:
        """[T, S + T] boolean: the whole context, then causal among the new tokens (the chunk rule is in which keys
        the context holds)."""
        return causal_after(self.context.length, self.tokens, self.x.device)

    def own_mask(self) -> torch.Tensor:
        """[T, T] boolean: causal among the new tokens."""
        return torch.ones(self.tokens, self.tokens, dtype=torch.bool, device=self.x.device).tril()
