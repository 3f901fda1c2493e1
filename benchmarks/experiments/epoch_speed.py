"""Training time per epoch, utterances per second and inference latency on IEMOCAP 6-class shapes.

The conversations (count, lengths, labels) are the real IEMOCAP 6-class fold-5 training and test
splits; the features are random at the paper's widths (text 1024, audio 512, video 1024), since
no real 1024-d text or any IEMOCAP audio / video is available here. One epoch of ITS (teacher +
student, random missing rates) and of PRE (student alone) at the paper's batch of 32, then the
student's inference latency per test conversation (one conversation per call, no teacher).

    .venv/bin/python benchmarks/experiments/epoch_speed.py [--epochs 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from erc_data import Conversation, collate_conversations, load_gcnet
from iteach_app.config import resolve
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.step import run_step
from missing_modality import ModalityMasker, parse_schedule

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PAPER_DIMS = {"text": 1024, "audio": 512, "video": 1024}


def paper_width_copy(conversations, seed: int) -> list[Conversation]:
    """The same conversations with random features at the paper's widths."""
    rng = np.random.default_rng(seed)
    out = []
    for c in conversations:
        feats = {
            m: rng.standard_normal((len(c.labels), d)).astype(np.float32)
            for m, d in PAPER_DIMS.items()
        }
        out.append(Conversation(c.id, list(c.utterance_ids), c.speakers, c.labels, feats))
    return out


def epoch_seconds(
    framework: str, train: list[Conversation], epochs: int, batch: int
) -> tuple[float, torch.nn.Module]:
    """Median wall seconds of one training epoch (no evaluation) of ``framework``; its student."""
    overrides = {
        "synthetic": "iemocap6",
        "framework": framework,
        "student": "nas",
        "device": "cpu",
        "preset": "paper",
    }
    config = resolve(overrides=overrides)
    model = build_framework(config, PAPER_DIMS, 6, "classification")
    optimizer = build_optimizer(model, config)
    masker = ModalityMasker(model.student.modalities)
    schedule = parse_schedule("random")
    times = []
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(epoch)).tolist()
        start = time.perf_counter()
        for step, first in enumerate(range(0, len(order), batch)):
            b = collate_conversations([train[i] for i in order[first : first + batch]])
            output = run_step(
                model,
                b,
                masker=masker,
                schedule=schedule,
                seed=0,
                epoch=epoch,
                step=step,
            )
            optimizer.zero_grad(set_to_none=True)
            output.loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), model.student


def latency_ms(student: torch.nn.Module, test: list[Conversation]) -> tuple[float, float, float]:
    """Student alone, one conversation per call: median and p90 ms per conversation, utt/s."""
    student.eval()
    times, utterances = [], 0
    with torch.no_grad():
        for c in test:
            b = collate_conversations([c])
            start = time.perf_counter()
            student(features=b.features, utterance_mask=b.utterance_mask)
            times.append(time.perf_counter() - start)
            utterances += len(c.labels)
    return (
        statistics.median(times) * 1e3,
        float(np.percentile(times, 90)) * 1e3,
        utterances / sum(times),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not (DATA / "IEMOCAP").is_dir():
        print(f"skipped: real data not found at {DATA} (../shared/data beside the repository)")
        return
    ds = load_gcnet(DATA / "IEMOCAP", "IEMOCAPSix", {"text": "minilm-384-UTT"})
    train_real, _, test_real = ds.split(fold=5, val_fraction=0.1, seed=0)
    train = paper_width_copy(list(train_real), 0)
    test = paper_width_copy(list(test_real), 1)
    n_train = sum(len(c.labels) for c in train)
    print(
        f"IEMOCAP 6-class fold 5 shapes: {len(train)} training conversations ({n_train} "
        f"utterances), {len(test)} test; widths {PAPER_DIMS}; batch {args.batch_size}; "
        f"{torch.get_num_threads()} thread(s)"
    )
    print("| framework | s / epoch | utterances / s |\n|---|---:|---:|")
    results, students = {}, {}
    for framework in ("its", "pre"):
        seconds, students[framework] = epoch_seconds(framework, train, args.epochs, args.batch_size)
        results[framework] = seconds
        label = "ITS (teacher 3 + student 4)" if framework == "its" else "PRE (student 4 alone)"
        print(f"| {label} | {seconds:.1f} | {n_train / seconds:.0f} |", flush=True)
    print(f"ITS / PRE epoch time: x{results['its'] / results['pre']:.2f}")
    median, p90, rate = latency_ms(students["its"], test)
    mean_len = statistics.fmean(len(c.labels) for c in test)
    print(
        f"student inference, one test conversation per call (mean {mean_len:.0f} utterances): "
        f"median {median:.1f} ms, p90 {p90:.1f} ms, {rate:.0f} utterances / s"
    )


if __name__ == "__main__":
    main()
