"""Why the NAS student trailed the attention model: one variant of the NAS mixer per
run on IEMOCAP 4-class fold 5, real MiniLM text, default preset, nothing masked
(keep_at_least 1). Prints one JSON line: best validation WAF (the selection), test WAF at rate 0
(read after choosing), the mean router weights per layer over the validation utterances
(attention, MLP, avg, max), wall seconds. Results in docs/results/nas_gap.md.

Usage (from the repository root, after ``source ../env.sh``)::

    nice -n 10 python benchmarks/experiments/nas_gap.py nas --epochs 20 --seed 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from iteach_app.config import resolve
from iteach_app.model.layers import mixers
from iteach_app.training.plans import evaluation_batches
from iteach_app.training.trainer import Trainer

DATA = Path(
    os.environ.get("ITEACH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
BASE: dict[str, Any] = {
    "features": {"text": "minilm-384-UTT"},
    "fold": 5,
    "framework": "pre",
    "student": "nas",
    "device": "cpu",
    "threads": 1,
    "checkpoint_every": 0,
    "preset": "default",
    "keep_at_least": 1,
    "dataset": "IEMOCAPFour",
}


def _pool_subtracts_input() -> None:
    """The old default: PoolFormer's pool(x) - x in both pooling candidates."""
    mixers._WindowPoolMixer.__init__.__kwdefaults__["subtract_input"] = True


def _candidates(*classes: type[torch.nn.Module]) -> Callable[[], None]:
    def apply() -> None:
        _pool_subtracts_input()
        mixers.NASMixer.__init__.__kwdefaults__["candidates"] = classes

    return apply


def _router_prefers_attention(share: float) -> Callable[[], None]:
    """Router bias initialised so attention starts with `share` of the weight."""

    def apply() -> None:
        _pool_subtracts_input()
        build = mixers.Router.__init__

        def init(self: mixers.Router, dim: int, num_choices: int) -> None:
            build(self, dim, num_choices)
            with torch.no_grad():
                self.fc.bias.zero_()
                self.fc.bias[0] = math.log(share * (num_choices - 1) / (1 - share))

        mixers.Router.__init__ = init

    return apply


# name -> (config overrides, code change applied before the model is built)
VARIANTS: dict[str, tuple[dict[str, Any], Callable[[], None]]] = {
    "attention": ({"student": "attention"}, lambda: None),
    "nas": ({}, lambda: None),
    "nas-subtract": ({}, _pool_subtracts_input),
    "router-lr-1e-3": ({"router_lr": 1e-3}, _pool_subtracts_input),
    "router-attention-0.7": ({}, _router_prefers_attention(0.7)),
    "no-pooling": ({}, _candidates(mixers.AttentionMixer, mixers.UtteranceMlpMixer)),
    "no-mlp": ({}, _candidates(mixers.AttentionMixer, mixers.AvgPoolMixer, mixers.MaxPoolMixer)),
}


def mean_router_weights(trainer: Trainer) -> list[list[float]]:
    """Per layer, the router weights (len(candidates),) averaged over validation utterances."""
    student = trainer.model.student.eval()
    total, count = None, 0
    with torch.no_grad():
        for batch in evaluation_batches(trainer.data.val, 8, None, torch.device("cpu")):
            student(features=batch.features, utterance_mask=batch.utterance_mask)
            if not student.router_weights:
                return []
            mask = batch.utterance_mask
            sums = torch.stack([w[mask].sum(0) for w in student.router_weights])
            total, count = (sums if total is None else total + sums), count + int(mask.sum())
    return (total / count).round(decimals=3).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-nas-gap"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides, apply = VARIANTS[args.variant]
    apply()
    config = resolve(
        overrides={
            **BASE,
            **overrides,
            "data": str(DATA / "IEMOCAP"),
            "epochs": args.epochs,
            "seed": args.seed,
        },
        source=args.variant,
    )
    folder = args.root / f"{args.variant}-e{args.epochs}-s{args.seed}"
    started = time.perf_counter()
    trainer = Trainer(config, folder, resume=False, verbose=False)
    result = trainer.fit()
    wall = time.perf_counter() - started
    test = next(
        e["waf"]
        for r, e in zip(result.ume.rates, result.ume.per_rate, strict=True)
        if float(r) == 0.0
    )
    row = {
        "variant": args.variant,
        "seed": args.seed,
        "epochs": args.epochs,
        "val_waf": round(result.best_metric, 4),
        "best_epoch": result.best_epoch,
        "test_waf": round(float(test), 4),
        "router_weights": mean_router_weights(trainer),
        "wall_s": round(wall),
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
