"""Length buckets against the padded forward, interleaved in one process: ITS training epochs and
the UME evaluation of eight rates, alternating the two modes repeat by repeat so that a busy
machine's drift hits both alike; prints the best of each and the ratios.

Shapes: the real IEMOCAP 6-class fold-5 conversations (lengths, labels) with random features at
the paper's widths (text 1024, audio 512, video 1024); the paper recipe (batch 32) and the
default recipe (batch 8).

    python benchmarks/bucket_speed.py [--threads 2] [--repeats 3] [--batch 32,8]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from erc_data import Conversation, ERCDataset, collate_conversations, load_gcnet
from iteach_app.config import resolve
from iteach_app.training import plans
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.step import autocast, run_step
from missing_modality import ModalityMasker, parse_schedule

from timing import sync

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ITEACH_SHARED_DATA", ROOT.parent / "shared" / "data"))
DIMS = {"text": 1024, "audio": 512, "video": 1024}
RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def widen(dataset: ERCDataset, seed: int) -> ERCDataset:
    """The conversations with random features at the paper's widths."""
    rng = np.random.default_rng(seed)
    out = [
        Conversation(
            c.id,
            list(c.utterance_ids),
            c.speakers,
            c.labels,
            {m: rng.standard_normal((len(c), d)).astype(np.float32) for m, d in DIMS.items()},
        )
        for c in dataset
    ]
    return ERCDataset(out, name="bench", task="classification", num_classes=6, modality_dims=DIMS)


def set_buckets(model: torch.nn.Module, on: bool) -> None:
    for role in (model.teacher, model.student):
        if role is not None:
            role.bucket_forward = on


def epoch_seconds(
    model, optimizer, train, batches, device: str = "cpu", precision: str = "32"
) -> float:
    """One training epoch over ``batches`` (index lists) on ``device``, batches collated and
    moved there inside the timing (as the trainer does), finished work only."""
    masker, schedule = ModalityMasker(model.student.modalities), parse_schedule("random")
    place = torch.device(device)
    sync(place)
    start = time.perf_counter()
    for step, indices in enumerate(batches):
        batch = collate_conversations([train[i] for i in indices]).to(place)
        with autocast(precision, place):
            loss = run_step(
                model, batch, masker=masker, schedule=schedule, seed=0, epoch=0, step=step
            ).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync(place)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", default="32,8", help="recipes: 32 = paper, 8 = default")
    args = parser.parse_args()
    if not (DATA / "IEMOCAP").is_dir():
        print(f"skipped: real data not found at {DATA} (set ITEACH_SHARED_DATA)")
        return
    torch.set_num_threads(args.threads)
    dataset = load_gcnet(str(DATA / "IEMOCAP"), "IEMOCAPSix", {"text": "minilm-384-UTT"})
    train_real, _, test_real = dataset.split(fold=5, val_fraction=0.1, seed=0)
    train, test = widen(train_real, 0), widen(test_real, 1)
    utterances = sum(len(c) for c in train)
    print(
        f"IEMOCAP 6-class fold 5 shapes ({utterances} training utterances), paper widths, "
        f"{args.threads} thread(s), best of {args.repeats}, modes interleaved"
    )
    print("| recipe | mode | ITS s/epoch | ITS utt/s | UME 8 rates s | UME / epoch |")
    print("|---|---|---:|---:|---:|---:|")
    for size in (int(b) for b in args.batch.split(",")):
        preset = "paper" if size == 32 else "default"
        config = resolve(
            overrides={
                "synthetic": "iemocap6",
                "preset": preset,
                "batch_size": size,
                "device": "cpu",
            }
        )
        model = build_framework(config, DIMS, 6, "classification")
        optimizer = build_optimizer(model, config)
        batches = plans.epoch_batches(train, config, 0)
        evaluation = plans.evaluation_batches(
            test, size, config.max_utterances_per_batch or None, torch.device("cpu")
        )
        modes = (True, False)
        times: dict[bool, dict[str, list[float]]] = {on: {"its": [], "ume": []} for on in modes}
        for _ in range(args.repeats):
            for on in modes:
                set_buckets(model, on)
                model.train()
                times[on]["its"].append(epoch_seconds(model, optimizer, train, batches))
                start = time.perf_counter()
                evaluate_student(
                    model.student, evaluation, task="classification", rates=RATES, seed=0,
                    keep_at_least=1,
                )  # fmt: skip
                times[on]["ume"].append(time.perf_counter() - start)
        best = {on: {k: min(v) for k, v in t.items()} for on, t in times.items()}
        for on in (True, False):
            its, ume = best[on]["its"], best[on]["ume"]
            mode = "buckets (default)" if on else "padded"
            print(
                f"| {preset} (batch {size}) | {mode} | {its:.2f} | {utterances / its:.0f} | "
                f"{ume:.2f} | {ume / its:.2f} |"
            )
        print(
            f"batch {size}: buckets vs padded ITS x{best[False]['its'] / best[True]['its']:.2f}, "
            f"UME x{best[False]['ume'] / best[True]['ume']:.2f}"
        )


if __name__ == "__main__":
    main()
