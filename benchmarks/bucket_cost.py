"""Fit the length-bucket cost model (iteach_app.model.buckets.BucketCost) to this machine.

Times one ITS training step (teacher + student forward and backward, the paper's models and
widths) on uniform batches of ``n`` conversations of ``L`` utterances, fits
``seconds = per_call + per_row * n * L + per_cell * n * L^2`` by least squares, and prints the
costs in units of one padded row (the form `BucketCost` takes), with the fit's relative error.

    python benchmarks/bucket_cost.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch

from iteach_app.config import resolve
from iteach_app.training.framework import build_framework

DIMS = {"text": 1024, "audio": 512, "video": 1024}
COUNTS = (1, 8, 32)
LENGTHS = (1, 16, 48, 96)


def step_seconds(model: torch.nn.Module, count: int, length: int, repeats: int) -> float:
    """Best of ``repeats`` ITS steps (forward + backward) on ``count`` x ``length`` utterances."""
    features = {m: torch.randn(count, length, d) for m, d in DIMS.items()}
    mask = torch.ones(count, length, dtype=torch.bool)
    present = torch.ones(count, length, 3, dtype=torch.bool)
    target = torch.randint(0, 6, (count, length))
    inputs = {"features": features, "utterance_mask": mask, "present": present}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = model(inputs, inputs, target, valid=mask, distill_where=mask)
        out.loss.backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = resolve(
        overrides={"synthetic": "iemocap6", "preset": "paper", "device": "cpu", "dropout": 0.0}
    )
    config.bucket_forward = False
    model = build_framework(config, DIMS, 6, "classification")
    rows, times = [], []
    for count, length in itertools.product(COUNTS, LENGTHS):
        seconds = step_seconds(model, count, length, args.repeats)
        rows.append([1.0, count * length, count * length * length])
        times.append(seconds)
        print(f"n={count:3d} L={length:4d}: {seconds * 1e3:8.1f} ms", flush=True)
    a, y = torch.tensor(rows, dtype=torch.float64), torch.tensor(times, dtype=torch.float64)
    coef = torch.linalg.lstsq(a, y[:, None]).solution.squeeze(1)
    per_call, per_row, per_cell = coef.tolist()
    error = ((a @ coef - y).abs() / y).max().item()
    print(
        f"seconds = {per_call * 1e3:.2f} ms + {per_row * 1e6:.2f} us * n*L + "
        f"{per_cell * 1e9:.2f} ns * n*L^2 (largest relative error {error:.0%})"
    )
    print(
        f"BucketCost(per_call={per_call / per_row:.0f}, per_row=1.0, "
        f"per_cell={per_cell / per_row:.4f})"
    )


if __name__ == "__main__":
    main()
