"""Run the experiments of docs/RESULTS.md and write one markdown table + JSON per experiment.

Usage (from the repository root)::

    .venv/bin/python benchmarks/experiments/run_results.py all --seeds 0,1,2
    .venv/bin/python benchmarks/experiments/run_results.py ecce-ablation --seeds 0
    .venv/bin/python benchmarks/experiments/run_results.py collect      # tables from finished runs

Runs go to ``--root`` (default /tmp/iteach-results-default, never the repository), one folder per
(data, variant, seed); a finished run (its ume.json exists) is reused, an interrupted one resumed.
``all`` loops seeds outermost, so every table has a first seed before any gets a second.
Tables go to ``--out`` (default docs/results): <experiment>.md, <experiment>.json, plots.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
TEXT, AUDIO = "minilm-384-UTT", "covarep73-UTT"

# The default recipe at its full budget (up to 40 epochs, early stopping on the validation
# score, patience 15; apps/iteach/src/iteach_app/config/presets.py), as the headline table.
COMMON: dict[str, Any] = {"preset": "default", "device": "cpu", "checkpoint_every": 0}
SYNTHETIC = {
    "synthetic": "iemocap4",
    "synthetic_dialogues": 60,
    "synthetic_dims": {"text": 48, "audio": 32, "video": 48},
}


@dataclass(frozen=True)
class Variant:
    """One trained configuration: where its runs live, its label and its config overrides."""

    data_key: str
    key: str
    label: str
    overrides: dict[str, Any] = field(hash=False)

    def run_dir(self, root: Path, seed: int) -> Path:
        """Folder of the run with ``seed``."""
        return root / self.data_key / self.key / f"seed{seed}"


def _iemocap(name: str, **extra: Any) -> dict[str, Any]:
    data = {"data": str(DATA / "IEMOCAP"), "dataset": name, "features": {"text": TEXT}, "fold": 5}
    return {**data, **extra}


def _mosi(**extra: Any) -> dict[str, Any]:
    features = {"text": TEXT, "audio": AUDIO}
    return {"data": str(DATA / "CMUMOSI"), "dataset": "CMUMOSI", "features": features, **extra}


def _its(teacher: str, student: str, framework: str = "its") -> dict[str, Any]:
    return {"framework": framework, "teacher": teacher, "student": student}


COMPLETE = {"eval_rates": [0.0], "mask_schedule": "constant:0.0"}
# +0.1 every 4 epochs up to 0.7: the paper's every 10 of 100 epochs, scaled to the 40-epoch budget.
PROGRESSIVE = "progressive:0.1:4:0.7"


def variants(experiment: str) -> list[Variant]:
    """The configurations trained for ``experiment``."""
    if experiment == "ecce-ablation":
        out = []
        for data_key, name in (("iemocap4-text", "IEMOCAPFour"), ("iemocap6-text", "IEMOCAPSix")):
            for ecce, label in (
                ("none", "no ECCE"),
                ("global", "global only"),
                ("full", "local + global"),
            ):
                overrides = _iemocap(name, framework="pre", student="nas", ecce=ecce, **COMPLETE)
                out.append(Variant(data_key, f"complete-pre-nas-ecce-{ecce}", label, overrides))
        return out
    if experiment == "context":
        base = _iemocap("IEMOCAPFour", keep_at_least=0, mask_schedule="random")
        return [
            Variant(
                "iemocap4-text",
                "drop-pre-nas",
                "PRE (NAS alone)",
                {**base, "framework": "pre", "student": "nas"},
            ),
            Variant(
                "iemocap4-text",
                "drop-its-tf-tf",
                "ITS-TF (TF/TF)",
                {**base, **_its("attention", "attention")},
            ),
            Variant(
                "iemocap4-text",
                "drop-its-tf-nas",
                "ITS-NAS (TF/NAS)",
                {**base, **_its("attention", "nas")},
            ),
        ]
    if experiment == "frameworks":
        return [
            Variant(
                "mosi-text-audio",
                "pre-tf-random",
                "PRE-TF",
                _mosi(framework="pre", student="attention"),
            ),
            Variant(
                "mosi-text-audio",
                "its-tf-tf-random",
                "ITS TF/TF",
                _mosi(**_its("attention", "attention")),
            ),
            Variant(
                "mosi-text-audio",
                "its-tf-nas-random",
                "ITS TF/NAS (ITEACH-Net)",
                _mosi(**_its("attention", "nas")),
            ),
            Variant(
                "mosi-text-audio",
                "ts-nas-tf-random",
                "TS NAS/TF",
                _mosi(**_its("nas", "attention", "ts")),
            ),
        ]
    if experiment == "strategies":
        its = _its("attention", "nas")
        return [
            Variant("mosi-text-audio", "its-tf-nas-random", "CMU-MOSI, random", _mosi(**its)),
            Variant(
                "mosi-text-audio",
                "its-tf-nas-progressive",
                "CMU-MOSI, progressive",
                _mosi(**its, mask_schedule=PROGRESSIVE),
            ),
            Variant(
                "synthetic-iemocap4",
                "its-tf-nas-random",
                "synthetic IEMOCAP-like, random",
                {**SYNTHETIC, **its},
            ),
            Variant(
                "synthetic-iemocap4",
                "its-tf-nas-progressive",
                "synthetic IEMOCAP-like, progressive",
                {**SYNTHETIC, **its, "mask_schedule": PROGRESSIVE},
            ),
        ]
    raise ValueError(f"unknown experiment {experiment!r}; use one of {', '.join(EXPERIMENTS)}")


EXPERIMENTS = ("ecce-ablation", "context", "frameworks", "strategies")
FEATURES_NOTE = {
    "ecce-ablation": (
        "IEMOCAP 4- and 6-class, REAL text (MiniLM-384), no other modality, complete data"
    ),
    "context": (
        "IEMOCAP 4-class, REAL text (MiniLM-384) only; whole utterances dropped (keep_at_least=0)"
    ),
    "frameworks": "CMU-MOSI, REAL text (MiniLM-384) + REAL audio (COVAREP-73)",
    "strategies": (
        "CMU-MOSI REAL text + audio; synthetic IEMOCAP-like data (ALL THREE modalities SYNTHETIC)"
    ),
}


# ---------------------------------------------------------------------------- running
def run_one(variant: Variant, seed: int, root: Path, epochs: int | None) -> None:
    """Train (or finish) one run unless its ume.json exists; records wall time in timing.json."""
    from iteach_app.config import ConfigError, resolve
    from iteach_app.training.trainer import Trainer

    run_dir = variant.run_dir(root, seed)
    if (run_dir / "ume.json").is_file():
        return
    values = {**COMMON, **variant.overrides, "seed": seed}
    if epochs:
        values["epochs"] = epochs
    keep_override = None
    try:
        config = resolve(overrides=values, source=variant.key)
    except ConfigError as err:
        if values.get("keep_at_least") != 0:
            raise
        # The app's config rejects keep_at_least=0; apply it to the masker directly instead.
        print(f"note: {err}; applying keep_at_least=0 through the Trainer", flush=True)
        keep_override = 0
        config = resolve(overrides={**values, "keep_at_least": 1}, source=variant.key)
    trainer_class = _keep_zero_trainer() if keep_override == 0 else Trainer
    print(f"[{time.strftime('%H:%M:%S')}] {variant.data_key}/{variant.key} seed {seed}", flush=True)
    start = time.perf_counter()
    result = trainer_class(config, run_dir, resume=True, verbose=False).fit()
    wall = time.perf_counter() - start
    ran = len(result.history)  # early stopping may end before config.epochs
    timing = {
        "wall_s": wall,
        "epochs": ran,
        "s_per_epoch": wall / max(ran, 1),
        "best_epoch": result.best_epoch,
        "keep_at_least_applied": keep_override
        if keep_override is not None
        else config.keep_at_least,
    }
    (run_dir / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(f"    done in {wall:.0f} s, best epoch {result.best_epoch}", flush=True)


def _keep_zero_trainer() -> type:
    from iteach_app.training.trainer import Trainer

    class KeepZeroTrainer(Trainer):
        """Trainer whose masker and evaluation may drop every modality of an utterance."""

        def _keep(self) -> int:
            return 0

    return KeepZeroTrainer


# ---------------------------------------------------------------------------- tables
def _mean_spread(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def fmt(values: Sequence[float]) -> str:
    """``0.712 ± 0.010`` (sample std over seeds), or ``0.712`` for one seed, ``-`` for none."""
    if not values:
        return "-"
    mean, spread = _mean_spread(values)
    return f"{mean:.3f}" if spread is None else f"{mean:.3f} ± {spread:.3f}"


def load_runs(variant: Variant, root: Path) -> list[dict[str, Any]]:
    """Finished runs of a variant: seed, UME curve per metric, average, decline, timing."""
    runs = []
    for seed_dir in sorted((root / variant.data_key / variant.key).glob("seed*")):
        ume_path = seed_dir / "ume.json"
        if not ume_path.is_file():
            continue
        ume = json.loads(ume_path.read_text())
        timing_path = seed_dir / "timing.json"
        timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
        metrics = seed_dir / "metrics.csv"
        if timing and metrics.is_file():  # epochs actually run (early stopping), from the log
            ran = max(len(metrics.read_text().splitlines()) - 1, 1)
            timing = {**timing, "epochs": ran, "s_per_epoch": timing["wall_s"] / ran}
        runs.append(
            {
                "seed": int(seed_dir.name.removeprefix("seed")),
                "rates": ume["rates"],
                "per_rate": ume["per_rate"],
                "average": ume["average"],
                "decline": ume["decline"],
                "selected_on": ume.get("selected_on"),
                "timing": timing,
            }
        )
    return runs


def curve_table(rows: Iterable[tuple[str, list[dict[str, Any]]]], metric: str) -> str:
    """Markdown: one row per variant, the metric at each rate, average and decline (mean ± std)."""
    header = "| model | " + " | ".join(f"{r:.1f}" for r in RATES) + " | average | decline | seeds |"
    lines = [header, "|---|" + "---:|" * (len(RATES) + 3)]
    for label, runs in rows:
        cells = []
        for k in range(len(RATES)):
            cells.append(
                fmt([run["per_rate"][k][metric] for run in runs if len(run["per_rate"]) > k])
            )
        cells.append(fmt([run["average"][metric] for run in runs]))
        cells.append(fmt([run["decline"][metric] for run in runs]))
        seeds = ",".join(str(run["seed"]) for run in runs) or "none"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seeds} |")
    return "\n".join(lines) + "\n"


def ecce_table(root: Path, baselines: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """Rows: ECCE variant; columns: WAF at rate 0 on IEMOCAP 4- and 6-class (mean ± std)."""
    found = {v.data_key + "/" + v.key: (v, load_runs(v, root)) for v in variants("ecce-ablation")}
    lines = [
        "| ECCE | IEMOCAP 4-class WAF | IEMOCAP 6-class WAF | seeds (4 / 6) "
        "| s per epoch (4 / 6) |",
        "|---|---:|---:|---|---|",
    ]
    raw: dict[str, Any] = {}
    for ecce in ("none", "global", "full"):
        key = f"complete-pre-nas-ecce-{ecce}"
        four, six = found[f"iemocap4-text/{key}"], found[f"iemocap6-text/{key}"]
        waf4 = [r["per_rate"][0]["waf"] for r in four[1]]
        waf6 = [r["per_rate"][0]["waf"] for r in six[1]]
        seeds = " / ".join(
            ",".join(str(r["seed"]) for r in runs[1]) or "none" for runs in (four, six)
        )
        speed = " / ".join(
            fmt([r["timing"]["s_per_epoch"] for r in runs[1] if r["timing"]]).split(" ±")[0]
            for runs in (four, six)
        )
        lines.append(f"| {four[0].label} | {fmt(waf4)} | {fmt(waf6)} | {seeds} | {speed} |")
        raw[ecce] = {"iemocap4": four[1], "iemocap6": six[1]}
    bar4 = baselines.get("iemocap4_lr_context3", 0.716)
    bar6 = baselines.get("iemocap6_lr_context3")
    utt4 = baselines.get("iemocap4_lr_utterance", 0.578)
    utt6 = baselines.get("iemocap6_lr_utterance", 0.466)
    six_bar = f"{bar6:.3f}" if bar6 is not None else "-"
    lines.append(
        "| *bar: logistic regression, utterance + ±3 neighbour mean* "
        f"| {bar4:.3f} | {six_bar} | - | - |"
    )
    lines.append(f"| *logistic regression, utterance only* | {utt4:.3f} | {utt6:.3f} | - | - |")
    return "\n".join(lines) + "\n", raw


def write_tables(root: Path, out: Path, experiments: Sequence[str]) -> None:
    """Write <experiment>.md / .json (and a plot for the curve experiments) from finished runs."""
    out.mkdir(parents=True, exist_ok=True)
    baselines_path = out / "baselines.json"
    baselines = json.loads(baselines_path.read_text()) if baselines_path.is_file() else {}
    for experiment in experiments:
        note = f"Features: {FEATURES_NOTE[experiment]}.\n\n"
        if experiment == "ecce-ablation":
            table, raw = ecce_table(root, baselines)
        else:
            metric = "waf" if experiment == "context" else "binary_waf"
            found = [(v, load_runs(v, root)) for v in variants(experiment)]
            if experiment == "strategies":
                table = ""
                for prefix, metric_of in (("CMU-MOSI", "binary_waf"), ("synthetic", "waf")):
                    rows = [(v.label, runs) for v, runs in found if v.label.startswith(prefix)]
                    table += f"\n{metric_of} on the test split:\n\n" + curve_table(rows, metric_of)
            else:
                table = f"{metric} on the test split:\n\n" + curve_table(
                    [(v.label, runs) for v, runs in found], metric
                )
                _plot(found, metric, out / f"{experiment}.png", FEATURES_NOTE[experiment])
            raw = {f"{v.data_key}/{v.key}": runs for v, runs in found}
        (out / f"{experiment}.md").write_text(note + table)
        (out / f"{experiment}.json").write_text(json.dumps(raw, indent=2) + "\n")
        print(f"\n## {experiment}\n\n{note}{table}", flush=True)


def _plot(
    found: list[tuple[Variant, list[dict[str, Any]]]], metric: str, path: Path, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, runs in found:
        if not runs:
            continue
        means = [
            statistics.fmean(r["per_rate"][k][metric] for r in runs) for k in range(len(RATES))
        ]
        ax.plot(RATES, means, marker="o", label=f"{variant.label} (n={len(runs)})")
    ax.set_xlabel("missing rate")
    ax.set_ylabel(f"{metric} (test, mean over seeds)")
    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = (*EXPERIMENTS, "baselines", "all", "collect")
    parser.add_argument("experiment", choices=choices)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-results-default"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results")
    parser.add_argument("--epochs", type=int, default=None, help="override every epoch count")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--only", default=None, help="comma-separated experiments for all")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    import torch

    torch.set_num_threads(args.threads)
    if args.experiment in ("baselines", "all"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import baselines

        results = baselines.run(DATA)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "baselines.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / "baselines.md").write_text(baselines.to_markdown(results))
        print(baselines.to_markdown(results), flush=True)
        if args.experiment == "baselines":
            return 0
    if args.experiment == "collect":
        experiments = list(EXPERIMENTS)
    elif args.experiment == "all":
        experiments = args.only.split(",") if args.only else list(EXPERIMENTS)
        for seed in seeds:
            for experiment in experiments:
                for variant in variants(experiment):
                    run_one(variant, seed, args.root, args.epochs)
                write_tables(args.root, args.out, [experiment])
    else:
        experiments = [args.experiment]
        for seed in seeds:
            for variant in variants(args.experiment):
                run_one(variant, seed, args.root, args.epochs)
    write_tables(args.root, args.out, experiments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
