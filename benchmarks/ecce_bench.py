"""ECCE against the paper's Algorithm 1 loop, and how its cost grows with conversation length.

Prints: (1) forward speed ratio ECCE / algorithm1 on one batch (B=32, L=110, D=1024, H=8,
max_distance=30) with local=nn.Identity(), which isolates the span loop Algorithm 1 runs, then
with the default convolution; (2) forward+backward time and peak memory at B=1 for L in
{110, 512, 2048, 8192}. The reference loop is slow: it is timed once, on a subset of the batch's
conversations (it runs conversation by conversation, so its time scales with B), and scaled.

    python benchmarks/ecce_bench.py [--quick] [--device cpu|cuda] [--reference-batch N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from torch import nn

from ecce import ECCE, algorithm1

from timing import median_seconds, sync

BATCH, LENGTH, DIM, HEADS, MAX_DISTANCE = 32, 110, 1024, 8, 30
LENGTHS = (110, 512, 2048, 8192)


def speed_ratio(local: nn.Module | None, label: str, args: argparse.Namespace) -> None:
    """Forward time of ECCE on the whole batch against algorithm1, timed on a subset and scaled."""
    torch.manual_seed(0)
    model = ECCE(DIM, HEADS, max_distance=MAX_DISTANCE, local=local).to(args.device)
    x = torch.randn(BATCH, LENGTH, DIM, device=args.device)
    mask = torch.ones(BATCH, LENGTH, dtype=torch.bool, device=args.device)
    with torch.no_grad():
        fast = median_seconds(lambda: model(x, mask), 3 if args.quick else 10, args.device)
        n = args.reference_batch
        sync(args.device)
        start = time.perf_counter()
        slow_bias = algorithm1(x[:n], model.local, model.proj, MAX_DISTANCE, mask[:n])
        sync(args.device)
        slow = (time.perf_counter() - start) * BATCH / n
        error = (model(x[:n], mask[:n]) - slow_bias).abs().max().item()
    print(
        f"{label:<22} ECCE {fast * 1e3:8.1f} ms  algorithm1 {slow:7.1f} s (timed once on {n} of "
        f"{BATCH} conversations, x{BATCH / n:g})  ratio {slow / fast:6.0f}x  max|diff| {error:.1e}"
    )


def fwd_bwd_child(length: int, device: str, repeats: int) -> dict[str, float]:
    """Forward+backward time and peak memory above the set-up state, for one length (B=1)."""
    torch.manual_seed(0)
    model = ECCE(DIM, HEADS, max_distance=MAX_DISTANCE).to(device)
    x = torch.randn(1, length, DIM, device=device, requires_grad=True)
    grad = torch.randn(1, HEADS, length, length, device=device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        x.grad = None
        model(x).backward(grad)

    if device == "cuda":
        step()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        seconds = median_seconds(step, repeats, device)
        peak = torch.cuda.max_memory_allocated() - base
    else:
        step()
        base = reset_peak_rss()
        seconds = median_seconds(step, repeats, device)
        peak = peak_rss() - base
    return {"seconds": seconds, "peak": peak}


def _status_bytes(key: str) -> int:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in bytes."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(key + ":"))
    return int(line.split()[1]) * 1024


def reset_peak_rss() -> int:
    """Reset the process's peak resident set size (Linux >= 4.0) and return the current one."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_bytes("VmRSS")


def peak_rss() -> int:
    """Peak resident set size since the last reset, in bytes."""
    return _status_bytes("VmHWM")


def growth(args: argparse.Namespace) -> None:
    """Run each length in a fresh process so that peak memory is that length's own.

    glibc is told to give every block above 64 KiB back to the system when freed, so that the
    resident set size follows what is allocated.
    """
    print(f"\nforward+backward, B=1, D={DIM}, H={HEADS}, max_distance={MAX_DISTANCE}, default conv")
    print(f"{'L':>6} {'time':>9} {'peak':>11} {'one L^2 H fp32':>15} {'paper E: L^2 D_z fp32':>22}")
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    for length in LENGTHS:
        repeats = 1 if args.quick or length >= 4096 else 3
        command = [sys.executable, __file__, "--child", str(length), "--device", args.device]
        command += ["--repeats", str(repeats)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        result = json.loads(done.stdout)
        print(
            f"{length:>6} {result['seconds']:>8.2f}s {result['peak'] / 2**20:>8.0f}MiB "
            f"{length**2 * HEADS * 4 / 2**20:>12.0f}MiB {length**2 * DIM * 4 / 2**30:>19.1f}GiB"
        )
    print("peak = the largest resident (CPU) or allocated (CUDA) memory above the set-up state,")
    print("including the parameter gradients (the conv's weight gradient alone is 28 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, 2-conversation reference"
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--reference-batch", type=int, default=None, help="conversations for algorithm1"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(fwd_bwd_child(args.child, args.device, args.repeats)))
        return
    if args.reference_batch is None:
        args.reference_batch = 2 if args.quick else 4
    print(
        f"ECCE benchmark on {args.device}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"forward, B={BATCH}, L={LENGTH}, D={DIM}, H={HEADS}, max_distance={MAX_DISTANCE}, float32"
    )
    speed_ratio(nn.Identity(), "local=nn.Identity()", args)
    speed_ratio(None, "default convolution", args)
    growth(args)


if __name__ == "__main__":
    main()
