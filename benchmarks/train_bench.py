"""Training-loop costs of the app: one ITS step (teacher + student) against one PRE step (student
alone), a resumable checkpoint (model + AdamW state, safetensors, atomic) against a step, and a
UME evaluation (8 rates) against one step. Synthetic IEMOCAP-like data at the paper's widths.

    .venv/bin/python benchmarks/train_bench.py [--batch-size 32] [--max-len 110] [--repeats 3]
    .venv/bin/python benchmarks/train_bench.py --quick      # batch 8, L <= 40, narrow inputs
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from iteach_app.config import resolve
from iteach_app.data import build_splits, collate, fixed_batches
from iteach_app.training.checkpoint import load_checkpoint, save_checkpoint
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.step import run_step
from missing_modality import ModalityMasker, parse_schedule

from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=110)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dims = {"text": 1024, "audio": 512, "video": 1024}
    if args.quick:
        args.batch_size, args.max_len, args.repeats = 8, 40, 1
        dims = {"text": 128, "audio": 64, "video": 128}
    settings = {
        "synthetic": "iemocap4",
        "synthetic_dialogues": max(2 * args.batch_size, 20),
        "synthetic_dims": dims,
        "synthetic_max_length": args.max_len,
        "batch_size": args.batch_size,
        "device": args.device,
    }
    device = torch.device(args.device)
    timings: dict[str, float] = {}
    for framework in ("its", "pre"):
        overrides = {**settings, "framework": framework, "student": "nas"}
        config = resolve(overrides=overrides, source="bench")
        data = build_splits(config)
        model = build_framework(config, data.modality_dims, data.out_dim, data.task).to(device)
        optimizer = build_optimizer(model, config)
        masker = ModalityMasker(model.student.modalities)
        schedule = parse_schedule("random")
        batch = collate(data.train, list(range(args.batch_size))).to(device)

        def train_step(
            model=model,
            optimizer=optimizer,
            masker=masker,
            schedule=schedule,
            batch=batch,
            framework=framework,
        ) -> None:
            output = run_step(
                model,
                batch,
                masker=masker,
                schedule=schedule,
                seed=0,
                epoch=0,
                step=0,
            )
            optimizer.zero_grad(set_to_none=True)
            output.loss.backward()
            optimizer.step()

        timings[f"{framework}_step"] = median_seconds(train_step, args.repeats)
        if framework != "its":
            continue
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "last.safetensors"

            def save(model=model, optimizer=optimizer, path=path) -> None:
                save_checkpoint(
                    path,
                    model.state_dict(),
                    kind="train-state",
                    config_hash="x",
                    optimizer_state=optimizer.state_dict(),
                )

            timings["save"] = median_seconds(save, args.repeats)
            timings["load"] = median_seconds(lambda path=path: load_checkpoint(path), args.repeats)
            megabytes = path.stat().st_size / 2**20
        batches = fixed_batches(data.test, args.batch_size, device)

        def ume(model=model, batches=batches, data=data, rates=config.eval_rates) -> None:
            evaluate_student(
                model.student, batches, task=data.task, rates=rates, seed=0, keep_at_least=1
            )

        timings["ume"] = median_seconds(ume, args.repeats)
        ume_utterances = sum(int(b.utterance_mask.sum()) for b in batches)
    step = timings["its_step"]
    print(
        f"device {device}, batch {args.batch_size} conversations, L <= {args.max_len}, "
        f"inputs {dims}, {torch.get_num_threads()} threads"
    )
    print(f"ITS step (teacher + student)   {step * 1e3:9.1f} ms")
    print(
        f"PRE step (student alone)       {timings['pre_step'] * 1e3:9.1f} ms"
        f"   ITS / PRE = {step / timings['pre_step']:.2f}"
    )
    print(
        f"checkpoint save ({megabytes:.1f} MiB)    {timings['save'] * 1e3:9.1f} ms"
        f"   save / ITS step = {timings['save'] / step:.2f}"
    )
    print(
        f"checkpoint load + validate     {timings['load'] * 1e3:9.1f} ms"
        f"   load / ITS step = {timings['load'] / step:.2f}"
    )
    print(
        f"UME, 8 rates, {ume_utterances} utterances {timings['ume'] * 1e3:8.1f} ms"
        f"   UME / ITS step = {timings['ume'] / step:.2f}"
    )


if __name__ == "__main__":
    main()
