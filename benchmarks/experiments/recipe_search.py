"""Choose the default training recipe on VALIDATION WAF: a small grid on IEMOCAP fold 5, real
MiniLM text, printed as a markdown table (val WAF, test WAF, epochs run, wall time).

Usage (from the repository root, after ``source ../env.sh`` or with the venv's python)::

    python benchmarks/experiments/recipe_search.py --seeds 0 --jobs 2
    python benchmarks/experiments/recipe_search.py --seeds 0,1,2 --only default,paper
    python benchmarks/experiments/recipe_search.py --table        # the table of finished runs

Runs go to ``--root`` (default /tmp/iteach-recipe), one folder per (dataset, config, seed); a
finished run (ume.json) is skipped, an interrupted one resumed. Selection is on validation
only: the test column is read after the choice and never used to make it. Text-only with one
modality masks nothing, so the student (NAS, 4 layers) is trained alone (framework pre with
student nas): the same student ITS trains there, at half the cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

DATA = Path(
    os.environ.get("ITEACH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
BUDGET = {"epochs": 40}
BASE: dict[str, Any] = {
    "features": {"text": "minilm-384-UTT"},
    "fold": 5,
    "framework": "pre",
    "student": "nas",
    "device": "cpu",
    "threads": 1,
    "checkpoint_every": 0,
}
DATASETS = {"iemocap4": "IEMOCAPFour", "iemocap6": "IEMOCAPSix"}
# name -> overrides on top of BASE and the budget; presets fill the rest.
GRID: dict[str, dict[str, Any]] = {
    "paper": {"preset": "paper"},
    "paper-b8": {"preset": "paper", "batch_size": 8, "lr": 1e-3},
    "default": {"preset": "default"},
    "default-nols": {"preset": "default", "label_smoothing": 0.0},
    "default-cw": {"preset": "default", "class_weights": "inverse"},
    "default-d05": {"preset": "default", "dropout": 0.5},
    "default-lr5e-4": {"preset": "default", "lr": 5e-4},
    "default-h64": {"preset": "default", "hidden_dim": 64},
    "default-const": {"preset": "default", "lr_schedule": "constant", "warmup_fraction": 0.0},
    # the attention model alone (the paper's PRE) under the same recipes
    "attn-paper": {"preset": "paper", "student": "attention"},
    "attn-default": {"preset": "default", "student": "attention"},
}


def run_dir(root: Path, dataset: str, name: str, seed: int) -> Path:
    """Folder of one run."""
    return root / dataset / name / f"seed{seed}"


def train_one(root: str, dataset: str, name: str, seed: int, epochs: int) -> str:
    """Train (or resume) one run at low priority; wall time goes to recipe.json beside it."""
    os.nice(10)
    import torch

    from iteach_app.config import resolve
    from iteach_app.training.trainer import Trainer

    torch.set_num_threads(1)
    folder = run_dir(Path(root), dataset, name, seed)
    overrides = {
        **BASE,
        "epochs": epochs,
        **GRID[name],
        "data": str(DATA / "IEMOCAP"),
        "dataset": DATASETS[dataset],
        "seed": seed,
    }
    config = resolve(overrides=overrides, source=name)
    started = time.perf_counter()
    Trainer(config, folder, resume=True, verbose=False).fit()
    timing = folder / "recipe.json"
    previous = json.loads(timing.read_text())["wall_s"] if timing.is_file() else 0.0
    timing.write_text(json.dumps({"wall_s": previous + time.perf_counter() - started}))
    return f"{dataset}/{name}/seed{seed}"


def row(root: Path, dataset: str, name: str, seeds: list[int]) -> str | None:
    """One markdown row (mean +- std over the finished seeds), or None without any."""
    vals, tests, epochs, walls, done = [], [], [], [], []
    for seed in seeds:
        folder = run_dir(root, dataset, name, seed)
        if not (folder / "ume.json").is_file():
            continue
        metrics = json.loads((folder / "metrics.json").read_text())
        ume = json.loads((folder / "ume.json").read_text())
        vals.append(metrics["best_metric"])
        tests.append(_complete_waf(ume))
        epochs.append(f"{metrics['best_epoch']}/{len(metrics['epochs'])}")
        walls.append(json.loads((folder / "recipe.json").read_text())["wall_s"])
        done.append(str(seed))
    if not done:
        return None
    return (
        f"| {dataset} | {name} | {_mean(vals)} | {_mean(tests)} | {', '.join(epochs)} | "
        f"{statistics.fmean(walls):.0f} | {','.join(done)} |"
    )


def _complete_waf(ume: dict[str, Any]) -> float:
    """Test WAF at missing rate 0 (complete data) from a ume.json."""
    for rate, entry in zip(ume["rates"], ume["per_rate"], strict=True):
        if float(rate) == 0.0:
            return float(entry["waf"])
    raise ValueError("ume.json has no entry at missing rate 0")


def _mean(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(root: Path, datasets: list[str], names: list[str], seeds: list[int]) -> str:
    """The markdown table of every finished (dataset, config)."""
    head = (
        "| data | config | val WAF (selection) | test WAF (rate 0) | best/run epochs | "
        "wall s / run | seeds |\n|---|---|---:|---:|---|---:|---|"
    )
    rows = [row(root, d, n, seeds) for d in datasets for n in names]
    return "\n".join([head, *(r for r in rows if r)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-recipe"))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--only", default=",".join(GRID), help="config names, comma-separated")
    parser.add_argument("--datasets", default="iemocap4")
    parser.add_argument("--epochs", type=int, default=BUDGET["epochs"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="only print the table")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names, datasets = args.only.split(","), args.datasets.split(",")
    unknown = [n for n in names if n not in GRID] + [d for d in datasets if d not in DATASETS]
    if unknown:
        parser.error(f"unknown config or dataset {unknown}; known: {list(GRID)}, {list(DATASETS)}")
    if not args.table:
        pending = [
            (str(args.root), d, n, s, args.epochs)
            for s in seeds
            for d in datasets
            for n in names
            if not (run_dir(args.root, d, n, s) / "ume.json").is_file()
        ]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for done in pool.map(train_one, *zip(*pending, strict=True)) if pending else []:
                print(f"finished {done}", file=sys.stderr, flush=True)
    print(table(args.root, datasets, names, seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
