"""Why batching cameras gains little on a CPU: the model's own matmuls and attention at one camera's sizes and at N
cameras' sizes in one call, in GFLOP per CPU-second. Where one camera's shapes already run at the kernel's rate,
putting N cameras in one call can only save the per-call overhead around them.

    cd bench && ../.venv/bin/python gemm_sizes.py --preset bench --threads 1 --cameras 16
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from common import model_parser

from engine.model import ModelSpec, preset_spec

GROUP_LM_TOKENS = 153  # one 4-frame group in the LM: 144 DTS tokens + its timestamp tokens (bench/stream.py layout)


def rate(flops: float, fn: Callable[[], object], repeats: int) -> float:
    """GFLOP per CPU-second of fn(), over `repeats` calls after a warm-up call."""
    fn()
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return flops * repeats / (time.process_time() - start) / 1e9


def linear_rates(rows: int, k: int, n: int, cameras: int, repeats: int) -> tuple[float, float]:
    """[rows x k] @ [k x n] for one camera, repeated per camera, vs [cameras*rows x k] @ [k x n] once."""
    weight, one, many = torch.randn(n, k), torch.randn(rows, k), torch.randn(rows * cameras, k)
    single = rate(2 * rows * k * n, lambda: F.linear(one, weight), repeats * cameras)
    return single, rate(2 * rows * cameras * k * n, lambda: F.linear(many, weight), repeats)


def attention_rates(spec: ModelSpec, cameras: int, repeats: int) -> tuple[float, float]:
    """SigLIP self-attention over 4 frames of one camera vs 4 frames of each camera in one call."""
    patches, heads = (spec.image_size // spec.patch_size) ** 2, spec.vision_heads
    one = torch.randn(4, heads, patches, spec.vision_hidden // heads)
    many = torch.randn(4 * cameras, heads, patches, spec.vision_hidden // heads)
    flops = 4 * 4 * heads * patches * patches * (spec.vision_hidden // heads)
    single = rate(flops, lambda: F.scaled_dot_product_attention(one, one, one), repeats * cameras)
    return single, rate(flops * cameras, lambda: F.scaled_dot_product_attention(many, many, many), repeats)


def main() -> None:
    parser = model_parser(__doc__, "bench")
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = preset_spec(args.preset)
    patches = (spec.image_size // spec.patch_size) ** 2
    print(f"{args.preset}: GFLOP per CPU-second with {args.threads} thread(s): one camera's call vs "
          f"{args.cameras} cameras in one call")
    rows = {
        "SigLIP MLP up, 4 frames": (4 * patches, spec.vision_hidden, spec.vision_intermediate),
        "LM MLP up, one group": (GROUP_LM_TOKENS, spec.hidden_size, spec.intermediate_size),
        "LM MLP down, one group": (GROUP_LM_TOKENS, spec.intermediate_size, spec.hidden_size),
    }
    for name, (m, k, n) in rows.items():
        single, batched = linear_rates(m, k, n, args.cameras, args.repeats)
        print(f"  {name:24s} [{m}x{k}]x[{k}x{n}]: {single:6.1f} vs {batched:6.1f} ({batched / single:.2f}x)")
    single, batched = attention_rates(spec, args.cameras, args.repeats)
    print(f"  {'SigLIP attention, 4 frames':24s} {patches} tokens/frame: {single:6.1f} vs {batched:6.1f} "
          f"({batched / single:.2f}x)")


if __name__ == "__main__":
    main()
