"""Where a short `iteach-app train` run spends its time outside the epochs: one in-process CLI run
on the real IEMOCAP data, each phase timed by wrapping the function that does it.

Phases: import (the CLI and the trainer's modules), load (build_splits: pickles, features,
split), audit (the modality audit: `--audit-cache cold` clears its cache first, `warm` reuses
it), model (teacher and student built), standardiser (the training split's statistics), epochs
(the training steps), diagnostics (the per-epoch distillation diagnostics), validation (the
rest of each epoch's end: UME on val, selection, checkpoints), final table
(the best student's UME on test and the ume.md / csv / json / png files); "other" is the rest of
the run (config, run folder, progress). Prints one JSON line of seconds.

    python benchmarks/fixed_cost.py [--epochs 1] [--threads 2] [--audit-cache warm|cold|off]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ITEACH_SHARED_DATA", ROOT.parent / "shared" / "data"))


def train_options(epochs: int, threads: int, out: str) -> list[str]:
    """The `iteach-app train` arguments both fixed-cost measures run (this script in process,
    speed_bench.py as whole processes): real IEMOCAP 6-class fold 5, text, the defaults, no
    periodic checkpoints, run folders under ``out``."""
    return [
        "train",
        "--data",
        str(DATA / "IEMOCAP"),
        "--dataset",
        "IEMOCAPSix",
        "--features",
        "text=minilm-384-UTT",
        "--fold",
        "5",
        "--epochs",
        str(epochs),
        "--threads",
        str(threads),
        "--device",
        "cpu",
        "--out",
        out,
        "--checkpoint-every",
        "0",
    ]


def wrap(owner: object, name: str, phase: str, seconds: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper adding its wall time to ``seconds[phase]``."""
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[phase] += time.perf_counter() - start

    setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--audit-cache", choices=("warm", "cold", "off"), default="warm")
    parser.add_argument("--extra", nargs="*", default=[], help="more train options")
    args = parser.parse_args()
    if not (DATA / "IEMOCAP").is_dir():
        print(json.dumps({"skipped": f"real data not found at {DATA}"}))
        return
    seconds: dict[str, float] = defaultdict(float)
    begin = time.perf_counter()
    from iteach_app.cli import app
    from iteach_app.training import diagnostics, loop, trainer

    seconds["import"] = time.perf_counter() - begin
    from iteach_app.report import audit_cache

    wrap(trainer, "build_splits", "load", seconds)
    wrap(audit_cache, "cached_audit", "audit", seconds)
    wrap(trainer, "build_framework", "model", seconds)
    wrap(trainer, "fit_input_statistics", "standardiser", seconds)
    wrap(loop.TrainLoop, "_train_epoch", "epochs", seconds)
    wrap(loop.TrainLoop, "_end_epoch", "validation", seconds)
    wrap(diagnostics.DistillDiagnostics, "on_evaluate", "diagnostics", seconds)
    wrap(trainer.Trainer, "_final_evaluation", "final table", seconds)
    with tempfile.TemporaryDirectory(prefix="iteach-fixed-") as tmp:
        cache = Path(tmp) / "cache"
        if args.audit_cache == "warm":
            cache = Path(tempfile.gettempdir()) / "iteach-fixed-cost-cache"
        elif cache.exists():
            shutil.rmtree(cache)
        os.environ["ITEACH_CACHE"] = str(cache)
        options = train_options(args.epochs, args.threads, tmp)
        options += [*(["--no-audit"] if args.audit_cache == "off" else []), *args.extra]
        run = time.perf_counter()
        sys.stderr, stderr = open(os.devnull, "w"), sys.stderr  # noqa: SIM115 (progress lines)
        try:
            app(options, standalone_mode=False)
        finally:
            sys.stderr.close()
            sys.stderr = stderr
        seconds["run"] = time.perf_counter() - run
    seconds["validation"] -= seconds["diagnostics"]  # timed inside the epoch's end
    timed = sum(v for k, v in seconds.items() if k not in ("run", "import"))
    seconds["other"] = seconds["run"] - timed
    seconds["process"] = time.perf_counter() - START
    print(json.dumps({k: round(v, 3) for k, v in seconds.items()}))


if __name__ == "__main__":
    main()
