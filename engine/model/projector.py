"""Projection from vision space into the language model, then the 2x2 average pool (pooling after projection)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def build_projector(vision_hidden: int, lm_hidden: int) -> nn.Sequential:
    """Linear, exact-erf GELU, Linear: indices 0 and 2 carry the checkpoint's `mm_projector.{0,2}` weights."""
    return nn.Sequential(nn.Linear(vision_hidden, lm_hidden), nn.GELU(), nn.Linear(lm_hidden, lm_hidden))


def pool_2x2(tokens: torch.Tensor, grid: int) -> torch.Tensor:
    """[G, grid*grid, D] row-major positions -> [G, (grid/2)**2, D] by 2x2 average pooling, stride 2."""
    g, _, d = tokens.shape
    maps = tokens.view(g, grid, grid, d).permute(0, 3, 1, 2)  # [G, D, grid, grid]
    pooled = F.avg_pool2d(maps, kernel_size=2, stride=2)  # [G, D, grid/2, grid/2]
    return pooled.flatten(2).transpose(1, 2)
