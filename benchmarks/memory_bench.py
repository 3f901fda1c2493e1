"""Peak memory and time against conversation length: training on a batch of one long
conversation, on a mixed batch (the long one and 7 of 50 utterances, padded to it), and student
inference of the long one alone; and training on k conversations of 100 utterances (k = 1, 2, 4,
8, 16: memory against the number of utterances at a fixed length). Each case runs in a fresh
subprocess, which reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and time.

Before/after of the low-memory options: inference on the dense path (``query_chunk=None``:
every ECCE bias kept for all layers, one dense attention call) and on the default path
(attention in blocks of 256 query rows, ECCE biases computed on demand); training without and
with ``activation_checkpointing``.

Model: ITS (attention teacher 3 + NAS student 4) at hidden 128, widths text 64, audio 32,
video 64 (a small synthetic set, so that only the length varies).

    python benchmarks/memory_bench.py [--lengths 100,300,1000,3000] [--train-max 1000]
        [--mixed-max 300] [--counts 1,2,4,8,16] [--cases one,mixed,infer,count] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

DIMS = {"text": 64, "audio": 32, "video": 64}

CHILD = r"""
import json, resource, sys, time
import torch
from erc_data import Conversation, collate_conversations
import numpy as np
from iteach_app.config import resolve
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.step import run_step
from missing_modality import ModalityMasker, parse_schedule

case, length, dims = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
option = sys.argv[4]
torch.set_num_threads(1)
rng = np.random.default_rng(0)
def conv(i, n):
    feats = {m: rng.standard_normal((n, d)).astype(np.float32) for m, d in dims.items()}
    labels = rng.integers(0, 4, n)
    ids, speakers = [f"u{j}" for j in range(n)], np.zeros(n, dtype=np.int64)
    return Conversation(f"c{i}", ids, speakers, labels, feats)
if case == "count":  # `length` conversations of 100 utterances each
    convs = [conv(i, 100) for i in range(length)]
else:
    convs = [conv(0, length)] + ([conv(i, 50) for i in range(1, 8)] if case == "mixed" else [])
batch = collate_conversations(convs)
overrides = {"synthetic": "iemocap4", "device": "cpu"}
if option == "checkpointed":
    overrides["activation_checkpointing"] = True
config = resolve(overrides=overrides)
model = build_framework(config, dims, 4, "classification")
if option == "dense":
    model.student.set_query_chunk(None)
start = time.perf_counter()
if case == "infer":
    model.student.eval()
    with torch.no_grad():
        model.student(features=batch.features, utterance_mask=batch.utterance_mask)
else:
    optimizer = build_optimizer(model, config)
    masker = ModalityMasker(model.student.modalities)
    result = run_step(model, batch, masker=masker, schedule=parse_schedule("random"), seed=0,
                      epoch=0, step=0)
    result.loss.backward()
    optimizer.step()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


def run_case(case: str, length: int, option: str) -> tuple[float, float]:
    """(seconds, peak MB) of one case with one option (default, dense, checkpointed) in a
    fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(length), json.dumps(DIMS), option],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], result["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="100,300,1000,3000")
    parser.add_argument(
        "--train-max",
        type=int,
        default=1000,
        help="longest L trained (dense attention backward grows as L^2: 3000 needs many GB)",
    )
    parser.add_argument(
        "--mixed-max",
        type=int,
        default=300,
        help="longest L of the mixed batch (8 x L padded; the default utterance budget of "
        "1024 never forms it above 128, and at 1000 it needs ~10 GB)",
    )
    parser.add_argument("--counts", default="1,2,4,8,16", help="k of the k x 100 training case")
    parser.add_argument(
        "--cases", default="one,mixed,infer,count", help="which cases to run, comma-separated"
    )
    parser.add_argument("--quick", action="store_true", help="L = 100, 300 only")
    args = parser.parse_args()
    lengths = [100, 300] if args.quick else [int(x) for x in args.lengths.split(",")]
    print(f"ITS (teacher 3 + student 4), hidden 128, widths {DIMS}, 1 thread; fresh process each")
    print("| case | option | L | seconds | peak RSS (MB) |\n|---|---|---:|---:|---:|")
    for case, label, options in (
        ("one", "train, one conversation", ("default", "checkpointed")),
        ("mixed", "train, L + 7 x 50", ("default", "checkpointed")),
        ("infer", "inference, one conversation", ("dense", "default")),
    ):
        if case not in args.cases.split(","):
            continue
        longest = {"one": args.train_max, "mixed": args.mixed_max}.get(case)
        for length in lengths:
            for option in options:
                if longest is not None and length > longest:
                    print(f"| {label} | {option} | {length} | skipped (> {longest}) | |")
                    continue
                seconds, peak = run_case(case, length, option)
                row = f"| {label} | {option} | {length} | {seconds:.2f} | {peak:.0f} |"
                print(row, flush=True)
    if "count" in args.cases.split(","):
        counts = [int(x) for x in args.counts.split(",")]
        print(
            "\n| training batch | utterances | seconds | peak RSS (MB) | MB / utterance over k=1 |"
        )
        print("|---|---:|---:|---:|---:|")
        first: float | None = None
        for count in counts:
            seconds, peak = run_case("count", count, "default")
            first = peak if first is None else first
            extra = (
                "" if count == counts[0] else f"{(peak - first) / (100 * (count - counts[0])):.2f}"
            )
            print(
                f"| {count} x 100 | {100 * count} | {seconds:.2f} | {peak:.0f} | {extra} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
