"""Model cost per 4-frame group (vision trunk, DTS, projector + pool) and LM chunk-prefill throughput.

    .venv/bin/python bench/model.py --preset tiny
    .venv/bin/python bench/model.py --preset bench --groups 2
    .venv/bin/python bench/model.py --preset videoxl2 --random-weights --device cuda --dtype bfloat16
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from common import load_bench_model, model_parser, sync, timed
from transformers import DynamicCache

from engine.model import VideoXL2
from engine.model.dts import group_layout
from engine.model.projector import pool_2x2


def parse_args() -> argparse.Namespace:
    parser = model_parser(__doc__, "tiny")
    parser.add_argument("--groups", type=int, default=1, help="4-frame groups encoded per call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls after one warm-up")
    parser.add_argument("--chunk-tokens", type=int, default=610, help="tokens per prefill chunk (4 groups ~ 610)")
    parser.add_argument("--chunks", type=int, default=4, help="prefill chunks appended to one cache")
    return parser.parse_args()


@torch.no_grad()
def bench_groups(model: VideoXL2, groups: int, repeats: int) -> dict[str, float]:
    """Median ms per group for each stage, fed by the previous stage's real output."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(4 * groups)]
    device, spec = model.device, model.spec
    pixels = model.preprocess(frames)
    features = model.vision(pixels)
    merged = model.dts(group_layout(features))
    stages = {
        "preprocess (PIL bicubic)": lambda: model.preprocess(frames),
        "vision trunk": lambda: model.vision(pixels),
        "DTS": lambda: model.dts(group_layout(features)),
        "projector + pool": lambda: pool_2x2(model.projector(merged), spec.grid),
        "encode_groups total": lambda: model.encode_groups(pixels),
    }
    return {name: 1000 * timed(fn, device, repeats) / groups for name, fn in stages.items()}


@torch.no_grad()
def bench_prefill(model: VideoXL2, chunk_tokens: int, chunks: int, repeats: int) -> tuple[float, list[float]]:
    """Tokens/s of appending `chunks` chunks to one cache, and the median ms of each chunk index."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    embeds = [torch.randn(1, chunk_tokens, model.spec.hidden_size, generator=generator).to(model.device, model.dtype)
              for _ in range(chunks)]
    per_chunk: list[list[float]] = [[] for _ in range(chunks)]
    for _ in range(repeats + 1):  # the first pass warms up and is dropped
        cache = DynamicCache(config=model.lm.config)
        for index, chunk in enumerate(embeds):
            per_chunk[index].append(timed_once(partial(model.lm_forward, chunk, cache), model.device))
    medians = [1000 * statistics.median(times[1:]) for times in per_chunk]
    return chunk_tokens * chunks / (sum(medians) / 1000), medians


def timed_once(fn: Callable[[], object], device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    model = load_bench_model(args)
    load_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    print(f"model {model.spec.preset}  device {args.device}  dtype {args.dtype}  threads {args.threads}  "
          f"params {params / 1e6:.1f}M  load {load_s:.2f}s  tokens/group {model.spec.tokens_per_group}")
    for name, ms in bench_groups(model, args.groups, args.repeats).items():
        print(f"  per group  {name:<22} {ms:9.2f} ms")
    rate, medians = bench_prefill(model, args.chunk_tokens, args.chunks, args.repeats)
    chunk_ms = "  ".join(f"{ms:.1f}" for ms in medians)
    print(f"  LM prefill {args.chunks} x {args.chunk_tokens} tokens: {rate:,.0f} tokens/s  (ms per chunk: {chunk_ms})")


if __name__ == "__main__":
    main()
