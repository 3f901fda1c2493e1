"""Real-time cost of `StreamingPredictor`: per-utterance latency and memory along one long
conversation, against re-running the causal model on the prefix; and many conversations at once.

    python benchmarks/streaming_bench.py                 # positions 10,100,1000,10000; 1000 convs
    python benchmarks/streaming_bench.py --quick         # positions 10,100; 50 conversations

The model is the causal ITEACH-Net student (4 layers, NAS mixer) at the app's default sizes
(hidden 128, 8 heads, ECCE window 7, max distance 30) with random weights (time does not depend
on training) and the widths of ``--modalities`` (default: the CMU-MOSI features here, text 384 +
audio 73); every utterance has a random modality missing with probability 0.3 (never both).

1. One conversation pushed utterance by utterance: the latency of the pushes at positions
   P .. P + window - 1 for each P (``--repeats`` conversations, so p50 / p99 pool
   repeats x window pushes), the process's resident memory (VmRSS) and the conversation's state
   (caches) when it reaches P.
2. The same positions by re-running the causal model on the whole prefix (what a caller without
   state must do): its per-utterance latency, at the positions in ``--rerun-positions`` (a
   forward at 10,000 utterances builds a dense 10,000 x 10,000 bias per head and modality, 3.2 GB
   each, so it stops at 1,000 by default).
3. (run first) ``--conversations`` conversations open in one predictor, ``--rounds``
   utterances pushed to each round-robin: throughput (utterances per second) and memory, once
   with ``push_many`` (one call per round, batch ``--batch``) and once with ``push`` (one
   utterance per call).
One torch thread unless ``--threads``. Every latency is given twice: wall time and the CPU time
of the pushing thread (``time.thread_time``), which a machine shared with other jobs inflates
far less; the host's load average is printed with the results.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from iteach_app.model import create_model
from iteach_app.streaming import IncrementalITEACH, PrefixEngine, StreamingPredictor


def rss_mb() -> float:
    """The process's current resident memory in MB (VmRSS; peak RSS where /proc is absent)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_dims(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in text.split(","))}


class Utterances:
    """Random utterances (features, presence) from one seeded generator."""

    def __init__(self, dims: dict[str, int], seed: int) -> None:
        self.dims = dims
        self.rng = np.random.default_rng(seed)

    def next(self) -> dict[str, np.ndarray | None]:
        names = list(self.dims)
        missing = self.rng.random(len(names)) < 0.3
        if missing.all():
            missing[self.rng.integers(len(names))] = False
        return {
            m: None if gone else self.rng.standard_normal(self.dims[m]).astype(np.float32)
            for m, gone in zip(names, missing, strict=True)
        }


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


class Clock:
    """Wall and thread-CPU milliseconds of the timed calls, collected per key."""

    def __init__(self) -> None:
        self.wall: dict[object, list[float]] = {}
        self.cpu: dict[object, list[float]] = {}

    def time(self, key: object, action, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        out = action(*args, **kwargs)
        self.cpu.setdefault(key, []).append(1e3 * (time.thread_time() - cpu))
        self.wall.setdefault(key, []).append(1e3 * (time.perf_counter() - wall))
        return out

    def summary(self, key: object) -> dict[str, float]:
        wall, cpu = self.wall[key], self.cpu[key]
        return {
            "pushes": len(wall),
            "p50_ms": statistics.median(wall),
            "p99_ms": percentile(wall, 99),
            "cpu_p50_ms": statistics.median(cpu),
            "cpu_p99_ms": percentile(cpu, 99),
        }


def along_one_conversation(
    model: torch.nn.Module, dims: dict[str, int], positions: list[int], window: int, repeats: int
) -> Iterator[dict]:
    """Streaming latency (ms) at each position, RSS (MB) and state (MB) on reaching it; each
    position's row as soon as its last repeat has passed it."""
    clock = Clock()
    memory: dict[int, tuple[float, float]] = {}
    last = max(positions) + window
    for repeat in range(repeats):
        predictor = StreamingPredictor(model, task="classification")
        source = Utterances(dims, seed=repeat)
        predictor.push("warm-up", source.next())
        predictor.end("warm-up")
        for t in range(last):
            item = source.next()
            timed = next((p for p in positions if p <= t < p + window), None)
            if timed is None:
                predictor.push("one", item)
            else:
                clock.time(timed, predictor.push, "one", item)
            for p in positions:
                if t + 1 == p and repeat == 0:
                    memory[p] = (rss_mb(), predictor.state_nbytes("one") / 2**20)
                if t + 1 == p + window and repeat == repeats - 1:
                    yield {
                        "position": p,
                        **clock.summary(p),
                        "rss_mb": memory[p][0],
                        "state_mb": memory[p][1],
                    }
        predictor.end("one")
        gc.collect()


def rerunning_the_prefix(
    model: torch.nn.Module, dims: dict[str, int], positions: list[int], window: int
) -> list[dict]:
    """Latency (ms) of one utterance when the model re-runs on the whole prefix each time."""
    engine = PrefixEngine(model, tuple(dims))
    out = []
    for p in positions:
        source = Utterances(dims, seed=0)
        state = engine.new_state()
        for _ in range(p):  # the prefix, stored without running the model on it
            item = source.next()
            for m, dim in dims.items():
                value = item[m]
                state.rows[m].append(torch.zeros(dim) if value is None else torch.from_numpy(value))
            state.present.append([item[m] is not None for m in dims])
        clock = Clock()
        for _ in range(window):
            item = source.next()
            present = {m: item[m] is not None for m in dims}
            feats = {
                m: torch.zeros(d) if item[m] is None else torch.from_numpy(item[m])
                for m, d in dims.items()
            }
            clock.time(p, engine.step, state, feats, present)
        out.append({"position": p, **clock.summary(p)})
        del state
        gc.collect()
    return out


def many_conversations(
    model: torch.nn.Module, dims: dict[str, int], conversations: int, rounds: int, batch: int
) -> dict:
    """Throughput and memory with ``conversations`` open at once, ``rounds`` pushes each; with
    ``batch`` > 1, ``push_many`` of that many conversations per call (latency: per call)."""
    gc.collect()
    before = rss_mb()
    predictor = StreamingPredictor(model, task="classification")
    sources = [Utterances(dims, seed=c) for c in range(conversations)]
    clock = Clock()
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(rounds):
        if batch <= 1:
            for c, source in enumerate(sources):
                clock.time("push", predictor.push, f"c{c}", source.next())
            continue
        for first in range(0, conversations, batch):
            items = [
                {"conversation_id": f"c{c}", "features": sources[c].next()}
                for c in range(first, min(first + batch, conversations))
            ]
            clock.time("push", predictor.push_many, items)
    seconds, cpu_seconds = time.perf_counter() - start, time.thread_time() - cpu
    after = rss_mb()
    state = sum(predictor.state_nbytes(c) for c in predictor.active()) / 2**20
    del predictor
    gc.collect()
    return {
        "conversations": conversations,
        "batch": batch,
        "utterances": conversations * rounds,
        "seconds": seconds,
        "utterances_per_s": conversations * rounds / seconds,
        "utterances_per_cpu_s": conversations * rounds / cpu_seconds,
        **clock.summary("push"),
        "rss_before_mb": before,
        "rss_after_mb": after,
        "state_mb": state,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modalities", default="text=384,audio=73")
    parser.add_argument("--positions", default="10,100,1000,10000")
    parser.add_argument("--rerun-positions", default="10,100,1000")
    parser.add_argument("--window", type=int, default=50, help="pushes timed per position")
    parser.add_argument("--repeats", type=int, default=2, help="conversations per position")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20, help="utterances per conversation")
    parser.add_argument("--batch", type=int, default=1000, help="conversations per push_many")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.quick:
        args.positions, args.rerun_positions = "10,100", "10,100"
        args.window, args.repeats, args.conversations, args.rounds, args.batch = 10, 1, 50, 5, 50
    torch.set_num_threads(args.threads)
    dims = parse_dims(args.modalities)
    torch.manual_seed(0)
    model = create_model("iteach_student", dims, 4, causal=True).eval()
    assert IncrementalITEACH(model)  # the incremental engine accepts it
    positions = [int(p) for p in args.positions.split(",")]
    rerun_at = [int(p) for p in args.rerun_positions.split(",") if p]
    print(f"causal ITEACH-Net student, modalities {dims}, {torch.get_num_threads()} thread(s)")

    def load() -> str:
        return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())

    print(f"start: {load()} on {os.cpu_count()} CPUs", flush=True)

    runs = []
    print(
        f"\n{args.conversations} conversations open in one predictor, {args.rounds} utterances "
        "each, round-robin\n\n| calls | utterances/s wall | per CPU second | ms per call p50 "
        "(CPU) | p99 (CPU) | RSS before -> after MB | states MB | KB per conversation |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        flush=True,
    )
    for batch in (args.batch, 1):
        many = many_conversations(model, dims, args.conversations, args.rounds, batch)
        runs.append(many)
        calls = "push" if many["batch"] <= 1 else f"push_many of {many['batch']}"
        print(
            f"| {calls} | {many['utterances_per_s']:.0f} | {many['utterances_per_cpu_s']:.0f} | "
            f"{many['p50_ms']:.1f} ({many['cpu_p50_ms']:.1f}) | {many['p99_ms']:.1f} "
            f"({many['cpu_p99_ms']:.1f}) | {many['rss_before_mb']:.0f} -> "
            f"{many['rss_after_mb']:.0f} | {many['state_mb']:.1f} | "
            f"{1024 * many['state_mb'] / many['conversations']:.1f} |",
            flush=True,
        )
    rerun = {r["position"]: r for r in rerunning_the_prefix(model, dims, rerun_at, args.window)}
    print(
        "\nms per utterance, wall (CPU of the pushing thread); re-run: the causal model on the "
        "whole prefix\n\n| position | streaming p50 | p99 | RSS MB | state MB | re-run p50 | "
        "p99 | re-run / streaming, CPU p50 |\n|---:|---:|---:|---:|---:|---:|---:|---:|",
        flush=True,
    )
    stream = []
    for row in along_one_conversation(model, dims, positions, args.window, args.repeats):
        stream.append(row)
        again = rerun.get(row["position"])
        tail = (
            f"{again['p50_ms']:.1f} ({again['cpu_p50_ms']:.1f}) | {again['p99_ms']:.1f} "
            f"({again['cpu_p99_ms']:.1f}) | x{again['cpu_p50_ms'] / row['cpu_p50_ms']:.1f}"
            if again
            else "not run | | "
        )
        print(
            f"| {row['position']:,} | {row['p50_ms']:.1f} ({row['cpu_p50_ms']:.1f}) | "
            f"{row['p99_ms']:.1f} ({row['cpu_p99_ms']:.1f}) | {row['rss_mb']:.0f} | "
            f"{row['state_mb']:.2f} | {tail} |",
            flush=True,
        )
    print(f"end: {load()}")
    if args.json is not None:
        payload = {
            "modalities": dims,
            "stream": stream,
            "rerun": list(rerun.values()),
            "many": runs,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
