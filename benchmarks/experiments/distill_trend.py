"""Does the distillation term rise after its first epochs? One line per run folder.

    python benchmarks/experiments/distill_trend.py RUN [RUN ...]

Reads each run's metrics.csv (``train_distill_loss`` per epoch) and prints the term at epoch 2,
its largest value over epochs 2-4, the mean of the last five epochs, and "rises" where that mean
exceeds the epochs 2-4 peak by more than 2% (the issue's criterion: the term must not rise after
its first epochs), else "does not rise". Runs without a teacher (no distillation) are skipped.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

TOLERANCE = 1.02


def trend(run: Path) -> tuple[int, float, float, float, bool] | None:
    """(epochs, epoch-2 value, epochs 2-4 peak, last-5 mean, rises) or None without the term."""
    with (run / "metrics.csv").open(newline="") as handle:
        values = [
            float(row["train_distill_loss"])
            for row in csv.DictReader(handle)
            if row.get("train_distill_loss") not in (None, "")
        ]
    if len(values) < 6:
        return None
    early = max(values[1:4])
    late = statistics.mean(values[-5:])
    return len(values), values[1], early, late, late > early * TOLERANCE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print("| run | epochs | epoch 2 | peak of epochs 2-4 | mean of the last 5 | verdict |")
    print("|---|---:|---:|---:|---:|---|")
    for run in args.runs:
        if not (run / "metrics.csv").is_file():
            continue
        found = trend(run)
        if found is None:
            continue
        epochs, second, early, late, rises = found
        verdict = "rises" if rises else "does not rise"
        print(f"| {run.name} | {epochs} | {second:.3f} | {early:.3f} | {late:.3f} | {verdict} |")


if __name__ == "__main__":
    main()
