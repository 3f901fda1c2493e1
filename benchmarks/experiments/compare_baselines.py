"""ITEACH-Net and the five baselines under one protocol, from one command: train each (same data,
masks, schedule, validation selection), then `iteach-app compare` their UME tables.

    nice -n 10 python benchmarks/experiments/compare_baselines.py iemocap --steps 60
    nice -n 10 python benchmarks/experiments/compare_baselines.py mosi --full --seeds 0,1,2

Budgets are in optimiser steps (converted to epochs with the training split's conversation
count and the batch size), or with ``--full`` the default recipe's own (its batch, lr, up to 40
epochs with early stopping on the validation score); MMIN spends a quarter of its epochs (at
least 1) pre-training its teacher. Seeds pool in the table; a finished run (ume.json) is reused
and an interrupted one resumed. Prints the table, parameter counts and seconds per epoch
(training + validation UME, wall clock, one thread). Data: ITEACH_SHARED_DATA (default
/work/shared/data).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch

from iteach_app.config import resolve
from iteach_app.data import build_splits
from iteach_app.model import count_parameters
from iteach_app.report.compare import (
    compare_markdown,
    default_metric,
    load_groups,
    write_comparison,
)
from iteach_app.training.framework import model_label
from iteach_app.training.trainer import Trainer

SHARED = Path(os.environ.get("ITEACH_SHARED_DATA", "/work/shared/data"))
DATASETS = {
    "iemocap": {
        "data": str(SHARED / "IEMOCAP"),
        "dataset": "IEMOCAPFour",
        "features": {"text": "minilm-384-UTT"},
        "fold": 5,
    },
    "mosi": {
        "data": str(SHARED / "CMUMOSI"),
        "dataset": "CMUMOSI",
        "features": {"text": "minilm-384-UTT", "audio": "covarep73-UTT"},
    },
}
MODELS = ("iteach", "ae", "cra", "mmin", "gcnet", "cpm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps per model")
    parser.add_argument("--full", action="store_true", help="the default recipe's full budget")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (pooled)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", type=Path, default=Path("runs/compare_baselines"))
    parser.add_argument("--standardize", choices=("none", "standard"), default="standard")
    parser.add_argument("--lr", type=float, default=5e-4, help="AdamW lr of every model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    base = {**DATASETS[args.dataset], "standardize": args.standardize, "device": "cpu"}
    base["threads"] = 1
    if not args.full:
        base.update(batch_size=args.batch_size, lr=args.lr)
    recipe = resolve(base)
    data = build_splits(recipe)
    steps_per_epoch = math.ceil(len(data.train) / recipe.batch_size)
    epochs = recipe.epochs if args.full else max(2, round(args.steps / steps_per_epoch))
    budget = f"up to {epochs} epochs ({epochs * steps_per_epoch} steps)"
    print(f"{args.dataset}: {len(data.train)} training conversations, {steps_per_epoch} steps "
          f"per epoch -> {budget} per model")  # fmt: skip
    out = args.out / args.dataset
    runs, facts = [], {}
    for seed, model in ((seed, model) for seed in seeds for model in args.models.split(",")):
        extra = {"model": model, "epochs": epochs, "seed": seed}
        if model == "mmin":
            extra["mmin_pretrain_epochs"] = max(1, epochs // 4)
        config = resolve({**base, **extra})
        run_dir = out / f"{model}-seed{seed}"
        runs.append(run_dir)
        if (run_dir / "ume.json").is_file():
            continue
        trainer = Trainer(config, run_dir, data=data, verbose=False, resume=run_dir.is_dir())
        start = time.perf_counter()
        result = trainer.fit()
        seconds = time.perf_counter() - start
        student = trainer.model.student
        params = (
            student.inference_parameters()
            if hasattr(student, "inference_parameters")
            else count_parameters(student)
        )
        ran = len(result.history)  # epochs run (early stopping may end before `epochs`)
        facts[f"{model_label(config, short=True)} seed {seed}"] = {
            "parameters": params,
            "seconds_per_epoch": seconds / max(ran, 1),
            "best_epoch": result.best_epoch,
        }
        print(f"{model} seed {seed}: {params:,} parameters, {seconds / max(ran, 1):.1f} s/epoch, "
              f"best epoch {result.best_epoch}", flush=True)  # fmt: skip
    groups = load_groups(runs)
    metric = default_metric(groups)
    write_comparison(groups, out, metric, title=f"UME {metric}, {config.dataset_label}")
    facts_file = out / "facts.json"
    known = json.loads(facts_file.read_text(encoding="utf-8")) if facts_file.is_file() else {}
    facts = {**known, **facts}
    facts_file.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    print(compare_markdown(groups, metric))
    print("| model | parameters (inference) | s / epoch | best epoch |\n|---|---:|---:|---:|")
    for label, fact in facts.items():
        print(f"| {label} | {fact['parameters']:,} | {fact['seconds_per_epoch']:.1f} | "
              f"{fact['best_epoch']} |")  # fmt: skip
    print(f"written: {out}/compare.md, compare.csv, compare.png, facts.json")


if __name__ == "__main__":
    main()
