"""DTS (dynamic token synthesis): merges a 4-frame group of feature maps into one map."""

from __future__ import annotations

import torch
from torch import nn

from engine.model.dts_blocks import SamePadConv3d, SpatialAttention3d, TemporalAttention
from engine.model.errors import ModelInputError
from engine.model.spec import FRAMES_PER_GROUP
from engine.steps import Steps, drain


def group_layout(features: torch.Tensor) -> torch.Tensor:
    """[4G, C, H, W] -> [G, C, 4, H, W] by reinterpreting memory, NOT by a permute.

    The released weights were trained on this view: DTS channel c' = (C/4)*f + c//4 and DTS time
    t' = c % 4 for frame f and channel c. A "clean" permute would silently break the checkpoint.
    """
    n, c, h, w = features.shape
    if n % FRAMES_PER_GROUP:
        raise ModelInputError(f"DTS needs whole groups of {FRAMES_PER_GROUP} frames, got {n} feature maps")
    return features.contiguous().view(n // FRAMES_PER_GROUP, c, FRAMES_PER_GROUP, h, w)


class DTS(nn.Module):
    """temporal encoding, then [spatial attention, temporal attention, stride-2 conv] twice: T 4 -> 2 -> 1."""

    def __init__(self, channels: int, norm_groups: int, max_relative: int) -> None:
        super().__init__()
        self.temporal_encoding = nn.Parameter(torch.empty(FRAMES_PER_GROUP, channels))  # indexed [t', c']
        self.encoder = nn.Sequential(
            SpatialAttention3d(channels, norm_groups),
            TemporalAttention(channels, norm_groups, max_relative),
            SamePadConv3d(channels),
            SpatialAttention3d(channels, norm_groups),
            TemporalAttention(channels, norm_groups, max_relative),
            SamePadConv3d(channels),
        )

    def forward(self, grouped: torch.Tensor) -> torch.Tensor:
        # grouped: [G, C, 4, H, W] (from group_layout) -> [G, H*W, C], positions row-major
        return drain(self.steps(grouped))

    def steps(self, grouped: torch.Tensor) -> Steps[torch.Tensor]:
        """forward, yielding after each of the six encoder blocks."""
        encoding = self.temporal_encoding.t()[None, :, :, None, None]  # [1, C, 4, 1, 1]
        x = grouped + encoding
        for block in self.encoder:
            x = block(x)
            yield
        return x.flatten(2).transpose(1, 2)  # [G, C, 1, H, W] -> [G, H*W, C]
