"""RoPE from the model's own rotary embedding, as cos/sin tables computed once per model and grown on demand.

A question view rotates every key it holds; recomputing sin/cos for ~10k positions per question cost as much as
the rotation itself. Rows of a table built for 0..n-1 are bit-identical to calling the rotary embedding on the same
positions (it is elementwise), so a cached row is exactly the model's RoPE.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import torch
from torch import nn
from transformers import Qwen2ForCausalLM
from transformers.models.qwen2.modeling_qwen2 import rotate_half

_MIN_ROWS = 4096
_TABLES: WeakKeyDictionary[nn.Module, dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]]]
_TABLES = WeakKeyDictionary()


def rope_tables(lm: Qwen2ForCausalLM, positions: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [S, Dh] for `positions` [S] (dtype and device of `like`)."""
    cos, sin = _table(lm, int(positions.max()) + 1 if positions.numel() else 0, like)
    index = positions.to(cos.device)
    return cos[index], sin[index]


def _table(lm: Qwen2ForCausalLM, rows: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rotary = lm.model.rotary_emb
    per_model = _TABLES.setdefault(rotary, {})
    key = (like.dtype, like.device)
    table = per_model.get(key)
    if table is None or table[0].shape[0] < rows:
        size = max(rows, _MIN_ROWS, 2 * (table[0].shape[0] if table else 0))
        cos, sin = rotary(like, torch.arange(size, device=like.device)[None])  # [1, size, Dh]
        table = per_model[key] = (cos[0], sin[0])
    return table


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """RoPE on x [..., S, Dh] with tables [S, Dh]: the same arithmetic as HF's apply_rotary_pos_emb."""
    half: torch.Tensor = rotate_half(x)  # type: ignore[no-untyped-call]
    return torch.add(x * cos, half * sin, out=out)


def rotate_into(out: torch.Tensor, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> None:
    """RoPE of x [..., S, Dh] written into `out` (same shape, not overlapping x) without temporaries: three passes
    over the data instead of `rotate`'s six. Equal to `rotate` up to one rounding (addcmul_ may fuse the multiply
    and the add); a question view rotates every key it holds with this one function, so an extended view and a
    rebuilt one stay bit-identical."""
    half = x.shape[-1] // 2
    torch.mul(x, cos, out=out)
    out[..., :half].addcmul_(x[..., half:], sin[..., :half], value=-1.0)
    out[..., half:].addcmul_(x[..., :half], sin[..., half:])
