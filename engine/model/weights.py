"""Seeded random weights for the presets, and the fingerprint that ties a KV cache to one set of weights."""

from __future__ import annotations

import hashlib
import json
import zlib

import torch
from torch import nn

from engine.model.spec import ModelSpec

_SAMPLES_PER_TENSOR = 1024  # a strided sample: enough to tell checkpoints apart, cheap even for 8B weights
_EMBEDDING_TABLES = ("embed_tokens", "position_embedding", "temporal_encoding", "embeddings_table")


@torch.no_grad()
def init_random(model: nn.Module, seed: int) -> None:
    """Fill every parameter from a generator seeded by (seed, name): independent of order and of other params."""
    for name, param in model.named_parameters():
        generator = torch.Generator(device=param.device).manual_seed(_param_seed(seed, name))
        _fill(name, param, generator)


def _param_seed(seed: int, name: str) -> int:
    return (seed * 0x9E3779B1 + zlib.crc32(name.encode())) % (2**63)


def _fill(name: str, param: torch.Tensor, generator: torch.Generator) -> None:
    if name.endswith(".bias"):
        param.zero_()
    elif param.ndim == 1:  # LayerNorm / GroupNorm / RMSNorm scales
        param.fill_(1.0)
    elif any(table in name for table in _EMBEDDING_TABLES):
        param.normal_(0.0, 0.02, generator=generator)
    else:  # keeps activations at unit scale through residual stacks of random layers
        fan_in = param[0].numel()
        param.normal_(0.0, fan_in**-0.5, generator=generator)


@torch.no_grad()
def fingerprint(spec: ModelSpec, model: nn.Module) -> str:
    """Stable hash of the dimensions, the dtype, and a strided sample of every tensor of the state dict."""
    digest = hashlib.sha256(json.dumps(spec.dims(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(_sample(tensor))
    return digest.hexdigest()[:16]


def _sample(tensor: torch.Tensor) -> bytes:
    flat = tensor.detach().reshape(-1)
    stride = max(1, flat.numel() // _SAMPLES_PER_TENSOR)
    picked = flat[::stride][:_SAMPLES_PER_TENSOR].float().cpu().numpy()
    return bytes(picked.tobytes())
