"""The price of not seeing the future: causal (online) against offline ITEACH-Net, same recipe.

    python benchmarks/experiments/realtime.py run [--epochs N] [--parallel 2]   # train
    python benchmarks/experiments/realtime.py report [--out docs/results/realtime-ume.md]

``run`` trains, for IEMOCAP 4-class (five leave-one-session-out folds), CMU-MOSI (text + audio)
and EmoryNLP (the own-conversations format), one seed of the default recipe twice: offline
(the model reads whole conversations) and with ``--causal`` (each utterance sees only itself and
earlier ones). Each run is ``iteach-app train`` in a subprocess under ``nice -n 15`` with one torch
thread, at most ``--parallel`` at once; runs go to ``--root`` (default /tmp/iteach-realtime, never
the repository), a finished run (ume.json) is skipped and an interrupted one resumed. Pairs are
ordered fold 5, MOSI, EmoryNLP, then folds 1-4, so a cut-short session still has whole pairs.
``--epochs`` (both sides alike) shortens the recipe when the full budget does not fit.

``report`` reads every finished run's ume.json and prints (or writes) the UME average and the
complete-data (rate 0) score of each pair, offline against online, and their difference: WAF for
the classification sets, binary WAF for CMU-MOSI, all on the test split, selected on validation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"  # /work/shared/data from a worktree; --data-root overrides
TEXT, AUDIO = "minilm-384-UTT", "covarep73-UTT"
MODES = ("offline", "online")
SETS = ("IEMOCAP-4", "CMU-MOSI", "EmoryNLP")


@dataclass(frozen=True)
class Job:
    """One training run: data set, fold (IEMOCAP only), offline or online, CLI data arguments."""

    dataset: str
    fold: int | None
    mode: str
    args: tuple[str, ...]

    def folder(self, root: Path) -> Path:
        fold = "" if self.fold is None else f"-fold{self.fold}"
        return root / f"{self.dataset}{fold}-{self.mode}"


def data_args(dataset: str, fold: int | None, data: Path = DATA) -> tuple[str, ...]:
    """The CLI data options of one data set (and IEMOCAP fold), its files under ``data``."""
    if dataset == "IEMOCAP-4":
        return (
            "--data", str(data / "IEMOCAP"), "--dataset", "IEMOCAPFour",
            "--features", f"text={TEXT}", "--fold", str(fold),
        )  # fmt: skip
    if dataset == "CMU-MOSI":
        return (
            "--data", str(data / "CMUMOSI"), "--dataset", "CMUMOSI",
            "--features", f"text={TEXT},audio={AUDIO}",
        )  # fmt: skip
    emory = data / "EmoryNLP"
    return (
        "--conversations", str(emory / "utterances.csv"),
        "--features", f"text={emory / 'features' / 'minilm-384.npz'}",
    )  # fmt: skip


def jobs(data: Path = DATA) -> list[Job]:
    """Offline and online runs of every set, pair by pair (fold 5, MOSI, EmoryNLP, folds 1-4)."""
    order = [("IEMOCAP-4", 5), ("CMU-MOSI", None), ("EmoryNLP", None)]
    order += [("IEMOCAP-4", fold) for fold in (1, 2, 3, 4)]
    return [
        Job(name, fold, mode, data_args(name, fold, data)) for name, fold in order for mode in MODES
    ]


def run_one(job: Job, root: Path, epochs: int | None) -> str:
    """Train one run (resuming an interrupted one); returns a line for the log."""
    folder = job.folder(root)
    if (folder / "ume.json").is_file():
        return f"done already: {folder}"
    if (folder / "checkpoints" / "last.safetensors").is_file():  # resumes with its own config
        settings: tuple[str, ...] = ("--resume", str(folder))
    else:
        settings = (
            *job.args, *(("--causal",) if job.mode == "online" else ()),
            *(("--epochs", str(epochs)) if epochs else ()),
            "--seed", "0", "--out", str(root), "--name", folder.name,
        )  # fmt: skip
    cmd = [
        "nice", "-n", "15", sys.executable, "-m", "iteach_app", "train", *settings,
        "--threads", "1", "--device", "cpu", "-q",
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return f"FAILED ({result.returncode}) {folder}: {result.stderr.strip()[-400:]}"
    (folder / "wall_seconds.txt").write_text(f"{seconds:.1f}\n")
    return f"{seconds:7.1f} s {folder}"


def score(folder: Path) -> dict[str, float] | None:
    """UME average and rate-0 score of a finished run (its selection metric), else None."""
    path = folder / "ume.json"
    if not path.is_file():
        return None
    ume = json.loads(path.read_text(encoding="utf-8"))
    metric = ume["selection_metric"]
    epochs = folder / "metrics.csv"
    ran = max(0, len(epochs.read_text().splitlines()) - 1) if epochs.is_file() else 0
    wall = folder / "wall_seconds.txt"
    return {
        "metric": metric,
        "average": ume["average"][metric],
        "complete": ume["per_rate"][ume["rates"].index(0.0)][metric],
        "epochs": ran,
        "seconds": float(wall.read_text()) if wall.is_file() else float("nan"),
    }


def report(root: Path) -> str:
    """Markdown: per run pair offline / online UME average and complete-data score."""
    rows = [
        "| data | metric | offline UME avg | online UME avg | Δ avg | offline rate 0 | "
        "online rate 0 | Δ rate 0 | epochs off/on | wall s off/on |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    means: dict[str, list[tuple[float, float, float, float]]] = {}
    for job in jobs()[::2]:
        pair = [score(Job(job.dataset, job.fold, mode, job.args).folder(root)) for mode in MODES]
        label = job.dataset + ("" if job.fold is None else f" fold {job.fold}")
        if None in pair:
            rows.append(f"| {label} | not finished | | | | | | | | |")
            continue
        off, on = pair
        values = (off["average"], on["average"], off["complete"], on["complete"])
        means.setdefault(job.dataset, []).append(values)
        rows.append(
            f"| {label} | {off['metric']} | {off['average']:.4f} | {on['average']:.4f} | "
            f"{on['average'] - off['average']:+.4f} | {off['complete']:.4f} | "
            f"{on['complete']:.4f} | {on['complete'] - off['complete']:+.4f} | "
            f"{off['epochs']}/{on['epochs']} | {off['seconds']:.0f}/{on['seconds']:.0f} |"
        )
    folds = means.get("IEMOCAP-4", [])
    if len(folds) > 1:
        avg = [sum(v[k] for v in folds) / len(folds) for k in range(4)]
        rows.append(
            f"| IEMOCAP-4 mean of {len(folds)} folds | waf | {avg[0]:.4f} | {avg[1]:.4f} | "
            f"{avg[1] - avg[0]:+.4f} | {avg[2]:.4f} | {avg[3]:.4f} | {avg[3] - avg[2]:+.4f} | | |"
        )
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "report"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-realtime"))
    parser.add_argument("--epochs", type=int, default=None, help="both sides alike")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="report: write markdown here")
    parser.add_argument("--data-root", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    if args.action == "report":
        text = report(args.root)
        if args.out is not None:
            args.out.write_text(text, encoding="utf-8")
        print(text, end="")
        return
    args.root.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        todo = jobs(args.data_root)
        for line in pool.map(lambda job: run_one(job, args.root, args.epochs), todo):
            print(line, flush=True)


if __name__ == "__main__":
    main()
