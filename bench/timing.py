"""Timing for the bench scripts: median of repeated calls, with the device synchronised around each."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


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
