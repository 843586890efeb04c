"""The three DTS building blocks: spatial attention, temporal attention with relative positions, padded 3D conv.

Attribute names (norm, q, k, v, proj_out, qkv, relative_position_k/v.embeddings_table, conv) are the
checkpoint's; the arithmetic follows the released model, quirks included (see videoxl2.md §1.5).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _group_norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)


class SpatialAttention3d(nn.Module):
    """Single-head attention over the H*W positions of each (sample, time) slice; no positional encoding."""

    def __init__(self, channels: int, norm_groups: int) -> None:
        super().__init__()
        self.norm = _group_norm(channels, norm_groups)
        self.q = nn.Conv3d(channels, channels, kernel_size=1)
        self.k = nn.Conv3d(channels, channels, kernel_size=1)
        self.v = nn.Conv3d(channels, channels, kernel_size=1)
        self.proj_out = nn.Conv3d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C, T, H, W]; the norm sees the whole (C, T, H, W) block of a sample
        b, c, t, h, w = x.shape
        normed = self.norm(x).permute(0, 2, 3, 4, 1).reshape(b * t, h * w, c)  # [B*T, HW, C]
        q, k, v = (_pointwise(conv, normed) for conv in (self.q, self.k, self.v))
        mixed = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(C)) v: [B*T, HW, C]
        out = _pointwise(self.proj_out, mixed).view(b, t, h, w, c).permute(0, 4, 1, 2, 3)
        return x + out


def _pointwise(conv: nn.Conv1d | nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 convolution applied as the linear map it is, on channels-last x: [..., C_in] -> [..., C_out].
    Flattened to one 2-D GEMM first: F.linear on a non-contiguous 3-D x (the temporal block's transposed input)
    becomes a batched matmul with the weight repeated per batch row, ~10x the cost of the same product."""
    flat = x.flatten(0, -2)  # [N, C_in], also for N = 0
    return F.linear(flat, conv.weight.flatten(1), conv.bias).view(*x.shape[:-1], conv.weight.shape[0])


class RelativePosition(nn.Module):
    """A learned vector per clipped offset: row `clip(offset) + max_relative` of `embeddings_table`."""

    def __init__(self, channels: int, max_relative: int) -> None:
        super().__init__()
        self.max_relative = max_relative
        self.embeddings_table = nn.Parameter(torch.empty(2 * max_relative + 1, channels))

    def forward(self, length: int) -> torch.Tensor:
        pos = torch.arange(length, device=self.embeddings_table.device)
        offsets = (pos[None, :] - pos[:, None]).clamp(-self.max_relative, self.max_relative)  # [a, b] = b - a
        return self.embeddings_table[offsets + self.max_relative]  # [T, T, C]


class TemporalAttention(nn.Module):
    """Single-head attention along time at every spatial position, with relative-position keys and values."""

    def __init__(self, channels: int, norm_groups: int, max_relative: int) -> None:
        super().__init__()
        self.norm = _group_norm(channels, norm_groups)
        self.qkv = nn.Conv1d(channels, 3 * channels, kernel_size=1)
        self.relative_position_k = RelativePosition(channels, max_relative)
        self.relative_position_v = RelativePosition(channels, max_relative)
        self.proj_out = nn.Conv1d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C, T, H, W] -> per position [B*H*W, C, T]; the norm's statistics are per position here
        b, c, t, h, w = x.shape
        seq = x.permute(0, 3, 4, 1, 2).reshape(b * h * w, c, t)
        qkv = _pointwise(self.qkv, self.norm(seq).transpose(1, 2))  # [P, T, 3C], channels ordered q | k | v
        mixed = self._attend(*qkv.chunk(3, dim=-1))  # [P, T, C]
        out = _pointwise(self.proj_out, mixed).view(b, h, w, t, c).permute(0, 4, 3, 1, 2)
        return x + out

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # q, k, v: [P, T, C]
        t, c = q.shape[1], q.shape[2]
        scale = 1.0 / math.sqrt(math.sqrt(c))  # on q and k each: the content logit is q.k / sqrt(C)
        qs = q * scale
        logits = torch.bmm(qs, (k * scale).transpose(1, 2))  # [P, Tq, Tk]
        # Quirk the weights were trained with: the key bias for (query i, key j) is q_j . R_K[clip(i - j)],
        # the key's own query and the reversed offset. rel_k[j, i] holds R_K[clip(i - j)].
        rel_k = self.relative_position_k(t)  # [T, T, C]
        logits = logits + torch.einsum("pjc,jic->pij", qs, rel_k)
        weights = logits.float().softmax(dim=-1).to(q.dtype)  # [P, Tq, Tk]
        rel_v = self.relative_position_v(t)  # [i, j] holds R_V[clip(j - i)]: the standard value term
        return torch.bmm(weights, v) + torch.einsum("pij,ijc->pic", weights, rel_v)


class SamePadConv3d(nn.Module):
    """Conv3d with stride (2, 1, 1) after replicate padding (time 1 front / 0 back, space 1 each side)."""

    _PAD = (1, 1, 1, 1, 1, 0)  # F.pad order: W left, W right, H top, H bottom, T front, T back

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, kernel_size=3, stride=(2, 1, 1), padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C, T, H, W] -> [B, C, T/2, H, W]; padding in fp32 as the reference does
        padded = F.pad(x.float(), self._PAD, mode="replicate").to(x.dtype)
        out: torch.Tensor = self.conv(padded)
        return out
