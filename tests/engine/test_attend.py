"""engine.layers.attend: the two ways it computes attention (GEMMs for a few query rows on a CPU, the fused SDPA
kernel otherwise) both equal a float64 reference, under a mask with rows that see different keys."""

from __future__ import annotations

import pytest
import torch

from engine.layers import DIRECT_ROWS, attend


def reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, scale: float) -> torch.Tensor:
    scores = q.double() @ k.double().transpose(1, 2) * scale + bias.double()
    return scores.softmax(-1) @ v.double()


@pytest.mark.parametrize("rows", [1, 12, DIRECT_ROWS, DIRECT_ROWS + 1, 700])
def test_attend_equals_the_float64_reference_on_either_path(rows: int) -> None:
    gen = torch.Generator().manual_seed(rows)
    heads, keys, dim = 2, 900, 64
    q, k, v = (torch.randn(heads, n, dim, generator=gen) for n in (rows, keys, keys))
    allowed = torch.rand(rows, keys, generator=gen) > 0.3
    allowed[:, 0] = True  # every row sees something
    bias = torch.zeros(rows, keys).masked_fill_(~allowed, float("-inf"))
    out = attend(q, k, v, bias, dim**-0.5)
    assert out.shape == (heads, rows, dim)
    torch.testing.assert_close(out.double(), reference(q, k, v, bias, dim**-0.5), rtol=1e-5, atol=1e-5)
