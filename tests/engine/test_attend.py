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


@pytest.mark.parametrize("rows", [4, DIRECT_ROWS + 4])
def test_a_row_that_may_see_nothing_gets_zeros_not_nan(rows: int) -> None:
    q, k, v = torch.randn(1, rows, 16), torch.randn(1, 30, 16), torch.randn(1, 30, 16)
    bias = torch.zeros(rows, 30)
    bias[1] = float("-inf")
    out = attend(q, k, v, bias, 0.25)
    assert torch.equal(out[0, 1], torch.zeros(16)) and bool(out.isfinite().all())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_takes_the_fused_kernel_scores_in_fp32(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(2, n, 64, generator=gen) * 3 for n in (12, 900, 900))
    bias = torch.zeros(12, 900)
    out = attend(q.to(dtype), k.to(dtype), v.to(dtype), bias.to(dtype), 64**-0.5)
    fused = torch.nn.functional.scaled_dot_product_attention(
        q.to(dtype)[None], k.to(dtype)[None], v.to(dtype)[None], attn_mask=bias.to(dtype)[None, None], scale=64**-0.5)
    assert torch.equal(out, fused[0])
