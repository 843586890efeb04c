"""What the model bench scripts share: model arguments and loading, and timing with the device synchronised."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from engine.model import VideoXL2, load_model


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int, warmup: bool = True) -> float:
    """Median seconds of `repeats` calls (after one warm-up call unless warmup=False)."""
    if warmup:
        fn()
    samples = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
PRESETS = ("tiny", "bench", "videoxl2")


def model_parser(description: str | None, preset: str) -> argparse.ArgumentParser:
    """The arguments every model benchmark takes: which model, on which device, in which dtype."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=preset, help="tiny, bench, videoxl2, or a checkpoint directory")
    parser.add_argument("--random-weights", action="store_true", help="allow videoxl2 dimensions without weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser


def load_bench_model(args: argparse.Namespace) -> VideoXL2:
    torch.set_num_threads(args.threads)
    source: str | Path = args.preset if args.preset in PRESETS else Path(args.preset)
    return load_model(source, device=args.device, dtype=DTYPES[args.dtype], random_weights=args.random_weights)
