"""The SigLIP trunk (last layer already dropped, features before the post-layernorm) and frame preprocessing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import SiglipVisionModel

from engine.model.errors import ModelInputError
from engine.model.spec import ModelSpec, siglip_config
from engine.resize import reference_resize
from engine.steps import Steps, drain


def preprocess_frames(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """BGR uint8 [H, W, 3] frames -> float32 [N, 3, size, size] in [-1, 1] (RGB, PIL bicubic, no crop)."""
    if not images:
        raise ModelInputError("preprocess needs at least one frame, got none")
    return torch.from_numpy(np.stack([_to_pixels(image, size) for image in images]))


def _to_pixels(image: np.ndarray, size: int) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ModelInputError(f"frames must be BGR uint8 [H, W, 3]; got {image.dtype} {image.shape}")
    resized = reference_resize(image, size)  # per channel: BGR resizes as RGB would
    scaled = resized[:, :, ::-1].astype(np.float32) / 255.0  # BGR -> RGB
    return ((scaled - 0.5) / 0.5).transpose(2, 0, 1)  # [3, S, S]


class VisionTrunk(nn.Module):
    """SiglipVisionModel whose encoder holds only the kept layers; `post_layernorm` exists but is never applied."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.grid = spec.grid
        self.siglip = SiglipVisionModel(siglip_config(spec))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # pixels: [N, 3, S, S] -> [N, C, grid, grid]
        return drain(self.steps(pixels))

    def steps(self, pixels: torch.Tensor) -> Steps[torch.Tensor]:
        """forward, yielding after each encoder layer (the same layers, in the order SiglipEncoder runs them)."""
        hidden = self.siglip.embeddings(pixels)  # [N, P, C], P = native_grid**2
        for layer in self.siglip.encoder.layers:
            hidden = layer(hidden, None)
            yield
        n, p, c = hidden.shape
        side = round(p**0.5)
        maps = hidden.transpose(1, 2).reshape(n, c, side, side)
        # The reference resizes in fp32 whatever the weights' dtype.
        resized = F.interpolate(maps.float(), size=(self.grid, self.grid), mode="bilinear", align_corners=False)
        return resized.to(hidden.dtype)
