"""Boolean attention masks over a context plus new tokens (True = may attend)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def causal_after(context_len: int, new: int, device: torch.device) -> torch.Tensor:
    """Mask [new, context_len + new]: the whole context, then causal among the new tokens."""
    return packed_mask(context_len, [new], device)


def packed_mask(context_len: int, lengths: Sequence[int], device: torch.device) -> torch.Tensor:
    """Mask [T, context_len + T] for sequences packed one after another: each sees the whole context, then only its
    own tokens causally. Packing (not padding) lets a batch share one context without copying it per sequence."""
    total = sum(lengths)
    own = torch.zeros(total, total, dtype=torch.bool, device=device)
    start = 0
    for n in lengths:
        own[start : start + n, start : start + n] = torch.ones(n, n, dtype=torch.bool, device=device).tril()
        start += n
    return torch.cat([torch.ones(total, context_len, dtype=torch.bool, device=device), own], dim=1)
