"""The headline table of docs/RESULTS.md: ITEACH-Net with the default recipe on real features,
every IEMOCAP leave-one-session-out fold, CMU-MOSI, three seeds, against the linear references.

    nice .venv/bin/python benchmarks/experiments/headline.py run --jobs 2      # resumable
    .venv/bin/python benchmarks/experiments/headline.py table                  # from what finished

Runs go to ``--root`` (default /tmp/iteach-headline, never the repository), one folder per
(experiment, fold, seed); a finished run (ume.json) is skipped, an interrupted one resumed. The
order puts every goal's fold-5 runs first, then the other folds, so a cut-short session still
has the goals' numbers. Each run is ``iteach-app train`` in a subprocess (one torch thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import iemocap as iemocap_reference
from baselines import mosi as mosi_reference

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("ITEACH_SHARED_DATA", REPO.parent / "shared" / "data"))
TEXT, AUDIO = "minilm-384-UTT", "covarep73-UTT"
DATASETS = {"iemocap4": "IEMOCAPFour", "iemocap6": "IEMOCAPSix"}


@dataclass(frozen=True)
class Job:
    """One training run: its experiment key, fold (None for MOSI), seed and CLI arguments."""

    experiment: str
    fold: int | None
    seed: int
    args: tuple[str, ...]

    def folder(self, root: Path) -> Path:
        fold = "" if self.fold is None else f"fold{self.fold}-"
        return root / self.experiment / f"{fold}seed{self.seed}"


def _iemocap(key: str, fold: int, seed: int, *extra: str) -> tuple[str, ...]:
    return (
        "--data", str(DATA / "IEMOCAP"), "--dataset", DATASETS[key], "--features",
        f"text={TEXT}", "--fold", str(fold), "--seed", str(seed), *extra,
    )  # fmt: skip


def _mosi(seed: int, *extra: str) -> tuple[str, ...]:
    features = f"text={TEXT},audio={AUDIO}"
    return (
        "--data", str(DATA / "CMUMOSI"), "--dataset", "CMUMOSI", "--features", features,
        "--seed", str(seed), *extra,
    )  # fmt: skip


def jobs(seeds: Sequence[int], folds: Sequence[int]) -> list[Job]:
    """Every run, goals' fold-5 runs first (seed by seed), then the remaining folds."""
    first: list[Job] = []
    rest: list[Job] = []
    for seed in seeds:
        for key in DATASETS:
            first.append(Job(key, 5, seed, _iemocap(key, 5, seed)))
        first.append(Job("mosi", None, seed, _mosi(seed)))
        first.append(Job("mosi-pre", None, seed, _mosi(seed, "--framework", "pre")))
        first.append(
            Job("iemocap4-pre", 5, seed, _iemocap("iemocap4", 5, seed, "--framework", "pre"))
        )
    for seed in seeds:
        for fold in (f for f in folds if f != 5):
            for key in DATASETS:
                rest.append(Job(key, fold, seed, _iemocap(key, fold, seed)))
    return first + rest


def run_job(job: Job, root: Path) -> str:
    """Train (or resume) one job in a subprocess; returns a one-line status."""
    folder = job.folder(root)
    if (folder / "ume.json").is_file():
        return f"done already: {folder}"
    resume = (
        ("--resume", str(folder)) if (folder / "checkpoints" / "last.safetensors").is_file() else ()
    )
    command = [
        sys.executable, "-m", "iteach_app", "train", *job.args, "--out", str(folder.parent),
        "--name", folder.name, "--threads", "1", "--device", "cpu", "-q", *resume,
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        return f"FAILED ({result.returncode}) {folder}: {result.stderr.strip()[-400:]}"
    (folder / "wall_seconds.txt").write_text(f"{seconds:.1f}\n")
    return f"{seconds:7.1f} s {folder}"


def references(root: Path, folds: Sequence[int]) -> dict[str, Any]:
    """The linear references per fold (cached in root/references.json)."""
    path = root / "references.json"
    cached = json.loads(path.read_text()) if path.is_file() else {}
    for key, name in DATASETS.items():
        for context in (False, True):
            for fold in folds:
                label = f"{key}/{'context' if context else 'utterance'}/fold{fold}"
                if label not in cached:
                    cached[label] = iemocap_reference(DATA, name, context, fold=fold)
    if "mosi" not in cached:
        cached["mosi"] = mosi_reference(DATA)
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cached, indent=2))
    return cached


def _read(folder: Path) -> dict[str, Any] | None:
    path = folder / "ume.json"
    if not path.is_file():
        return None
    ume = json.loads(path.read_text())
    metric = "binary_waf" if ume["task"] == "regression" else "waf"
    wall = folder / "wall_seconds.txt"
    return {
        "complete": ume["per_rate"][0][metric],
        "average": ume["average"][metric],
        "decline": ume["decline"][metric],
        "seconds": float(wall.read_text()) if wall.is_file() else None,
    }


def _fmt(values: Sequence[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(root: Path, seeds: Sequence[int], folds: Sequence[int]) -> str:
    """Markdown: per experiment and fold set, complete-data score, UME average and decline."""
    refs = references(root, folds)
    lines = [
        "| experiment | folds | runs | complete data | UME average | decline | ±3-context LR |"
        " utterance LR | s / run |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    every = jobs(seeds, folds)
    for experiment in dict.fromkeys(job.experiment for job in every):
        chosen = [job for job in every if job.experiment == experiment]
        groups = {"5": [j for j in chosen if j.fold in (5, None)]}
        if any(j.fold not in (5, None) for j in chosen):
            groups["all"] = chosen
        for label, group in groups.items():
            done = [(job, row) for job, row in ((j, _read(j.folder(root))) for j in group) if row]
            if not done:
                continue
            rows = [row for _, row in done]
            base = experiment.removesuffix("-pre")
            if base in DATASETS:
                used = sorted({job.fold for job, _ in done})
                context = _fmt([refs[f"{base}/context/fold{f}"] for f in used])
                utterance = _fmt([refs[f"{base}/utterance/fold{f}"] for f in used])
            else:
                context, utterance = "-", f"{refs['mosi']['text']:.3f} (text ridge)"
            seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
            wall = f"{statistics.mean(seconds):.0f}" if seconds else "-"
            lines.append(
                f"| {experiment} | {label if base in DATASETS else 'release'} | {len(rows)} | "
                f"{_fmt([r['complete'] for r in rows])} | {_fmt([r['average'] for r in rows])} | "
                f"{_fmt([r['decline'] for r in rows])} | {context} | {utterance} | {wall} |"
            )
    lines += ["", *_per_fold(root, every, refs), "", *_per_seed(root, seeds)]
    return "\n".join(lines) + "\n"


def _per_fold(root: Path, every: list[Job], refs: dict[str, Any]) -> list[str]:
    """Complete-data WAF per IEMOCAP fold (mean over seeds) against that fold's ±3-context LR."""
    lines = [
        "| dataset | fold | seeds | complete data | ±3-context LR | above |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key in DATASETS:
        for fold in sorted({j.fold for j in every if j.experiment == key}):
            rows = [_read(j.folder(root)) for j in every if j.experiment == key and j.fold == fold]
            scores = [r["complete"] for r in rows if r]
            if scores:
                reference = refs[f"{key}/context/fold{fold}"]
                above = "yes" if statistics.mean(scores) > reference else "NO"
                cells = (key, fold, len(scores), _fmt(scores), f"{reference:.3f}", above)
                lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def _per_seed(root: Path, seeds: Sequence[int]) -> list[str]:
    """ITEACH-Net against PRE seed by seed: UME average and decline (MOSI; IEMOCAP-4 fold 5)."""
    lines = ["| data | seed | ITEACH-Net avg / decline | PRE avg / decline |", "|---|---:|---|---|"]
    for its, pre, label in (
        ("mosi", "mosi-pre", "CMU-MOSI"),
        ("iemocap4/fold5", "iemocap4-pre/fold5", "IEMOCAP-4 fold 5"),
    ):
        for seed in seeds:
            paths = [
                root
                / f"{name.split('/')[0]}"
                / (f"{name.split('/')[1]}-seed{seed}" if "/" in name else f"seed{seed}")
                for name in (its, pre)
            ]
            a, b = (_read(path) for path in paths)
            if a and b:
                lines.append(
                    f"| {label} | {seed} | {a['average']:.3f} / {a['decline']:.3f} | "
                    f"{b['average']:.3f} / {b['decline']:.3f} |"
                )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "table"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-headline"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    folds = [int(f) for f in args.folds.split(",")]
    if args.command == "run":
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for status in pool.map(lambda job: run_job(job, args.root), jobs(seeds, folds)):
                print(status, flush=True)
        print(f"total wall time {time.perf_counter() - started:.0f} s")
    text = table(args.root, seeds, folds)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
