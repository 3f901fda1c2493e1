"""The ECCE ablation of docs/RESULTS.md on every IEMOCAP leave-one-session-out fold: the three
ECCE variants (none, global, local + global) of the NAS student alone, 4- and 6-class text,
complete data, the default recipe, three seeds per fold; paired by (fold, seed).

    nice .venv/bin/python benchmarks/experiments/ecce_folds.py run --folds 1,2,3,4 --jobs 2
    .venv/bin/python benchmarks/experiments/ecce_folds.py table --out docs/results/ecce-folds.md

Fold 5 is read from run_results.py's runs (same root and layout); folds 1-4 go to
``<root>/fold<k>/``. A finished run (ume.json) is skipped, an interrupted one resumed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_results
from headline import references

KINDS = {"none": "no ECCE", "global": "global only", "full": "local + global"}
DATASETS = {"iemocap4-text": "4-class", "iemocap6-text": "6-class"}


def fold_variants(fold: int) -> list[run_results.Variant]:
    """The ECCE ablation's variants with ``fold`` as the test session."""
    return [
        replace(v, overrides={**v.overrides, "fold": fold})
        for v in run_results.variants("ecce-ablation")
    ]


def fold_root(root: Path, fold: int) -> Path:
    """Where ``fold``'s runs live: run_results.py's root itself for fold 5."""
    return root if fold == 5 else root / f"fold{fold}"


def _run(args: tuple[run_results.Variant, int, Path]) -> None:
    import torch

    torch.set_num_threads(1)
    variant, seed, root = args
    run_results.run_one(variant, seed, root, None)


def run(root: Path, folds: list[int], seeds: list[int], jobs: int) -> None:
    """Train every missing (fold, variant, seed), ``jobs`` at a time, seeds outermost."""
    work = [
        (variant, seed, fold_root(root, fold))
        for seed in seeds
        for fold in folds
        for variant in fold_variants(fold)
    ]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_run, work))


def table(root: Path, folds: list[int]) -> str:
    """Per dataset and variant: WAF mean ± std over every (fold, seed), per-fold means, the
    fold's ±3-context logistic regression, and the paired difference of local + global against
    no ECCE."""
    refs = references(root, folds)
    lines = [
        "| data | ECCE | runs | WAF, all folds | " + " | ".join(f"fold {f}" for f in folds) + " |",
        "|---|---|---:|---:|" + "---:|" * len(folds),
    ]
    paired: dict[str, list[float]] = {}
    for data_key, label in DATASETS.items():
        scores: dict[str, dict[tuple[int, int], float]] = {}
        for kind, name in KINDS.items():
            scores[kind] = {}
            for fold in folds:
                variant = next(
                    v
                    for v in fold_variants(fold)
                    if v.data_key == data_key and v.key.endswith(f"ecce-{kind}")
                )
                for run in run_results.load_runs(variant, fold_root(root, fold)):
                    scores[kind][(fold, run["seed"])] = run["per_rate"][0]["waf"]
            per_fold = [[s for (f, _), s in scores[kind].items() if f == fold] for fold in folds]
            cells = " | ".join(f"{statistics.fmean(v):.3f}" if v else "-" for v in per_fold)
            values = list(scores[kind].values())
            lines.append(
                f"| {label} | {name} | {len(values)} | {run_results.fmt(values)} | {cells} |"
            )
        bars = [refs[f"{data_key.split('-')[0]}/context/fold{fold}"] for fold in folds]
        cells = " | ".join(f"{bar:.3f}" for bar in bars)
        lines.append(f"| {label} | *±3-context LR* | - | {statistics.fmean(bars):.3f} | {cells} |")
        common = sorted(set(scores["full"]) & set(scores["none"]))
        paired[label] = [scores["full"][key] - scores["none"][key] for key in common]
    notes = []
    for label, diffs in paired.items():
        wins = sum(d > 0 for d in diffs)
        notes.append(
            f"{label}: local + global minus no ECCE, paired by (fold, seed): mean "
            f"{statistics.fmean(diffs):+.3f} over {len(diffs)} pairs, positive in {wins}"
            if diffs
            else f"{label}: no pairs yet"
        )
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "table"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-results-default"))
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args()
    folds = [int(f) for f in args.folds.split(",") if f.strip()]
    if args.command == "run":
        run(args.root, folds, [int(s) for s in args.seeds.split(",") if s.strip()], args.jobs)
        return 0
    text = table(args.root, folds)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
