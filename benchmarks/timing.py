"""Wall-clock timing shared by the benchmark scripts (they import it from this folder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def sync(device: str | torch.device) -> None:
    """Wait for queued CUDA work, so that a timer reads finished work; a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    action: Callable[[], object], repeats: int, device: str | torch.device = "cpu"
) -> float:
    """Median wall time of ``action`` over ``repeats`` runs, after one warm-up run."""
    action()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        action()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
