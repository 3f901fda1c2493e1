"""Robust fusion: before/after tables, selection on validation, one markdown table.

(a) IEMOCAP 4-class real text + two generated uninformative modalities (audio 512-d and video
1024-d, N(0, 1) per dim) against text alone; (b) CMU-MOSI text + audio: the first epoch whose
validation binary WAF (rate 0) exceeds 0.5, and the UME average; (c) IEMOCAP 4-class text alone.
"before" = standardize none + gated_fusion false (raw features, plain fusion); "after" = the
app's defaults (standardize standard, gated_fusion true, input_norm false). Other variants measure
one mechanism at a time.

Usage (repository root, shared data present; one CPU thread)::

    nice -n 10 python benchmarks/experiments/robust_fusion.py --settings a,a-text --epochs 10
    nice -n 10 python benchmarks/experiments/robust_fusion.py --settings b --epochs 3
    nice -n 10 python benchmarks/experiments/robust_fusion.py --settings a --variants std,std+ln

The noise modalities of (a) are written in the GCNet layout under ``--root`` (default
/tmp/iteach-robust-fusion, never the repository). Finished runs are cached there as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("ITEACH_SHARED_DATA", REPO.parent / "shared" / "data"))
TEXT, AUDIO = "minilm-384-UTT", "covarep73-UTT"
NOISE_DIMS = {"audio": 512, "video": 1024}
RECIPE: dict[str, Any] = {"device": "cpu", "checkpoint_every": 0, "threads": 1}

BEFORE = {"standardize": "none", "gated_fusion": False, "input_norm": False}
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "before": ("raw features, plain fusion (before issue 11)", BEFORE),
    "gate": ("raw features + zero-init tanh gates", {**BEFORE, "gated_fusion": True}),
    "std": ("standardised, plain fusion", {**BEFORE, "standardize": "standard"}),
    "std+ln": (
        "standardised + LayerNorm after projection",
        {**BEFORE, "standardize": "standard", "input_norm": True},
    ),
    "std+ln+gate": (
        "standardised + LayerNorm + gates",
        {"standardize": "standard", "gated_fusion": True, "input_norm": True},
    ),
    "after": ("the app's defaults: standardised + zero-init tanh gates", {}),
}
SETTINGS = {
    "a": "IEMOCAP 4-class, REAL text (MiniLM-384) + NOISE audio 512-d + NOISE video 1024-d",
    "a-text": "IEMOCAP 4-class, REAL text alone (reference for (a))",
    "b": "CMU-MOSI, REAL text (MiniLM-384) + REAL audio (COVAREP-73, norm ~200)",
    "c": "IEMOCAP 4-class, REAL text alone",
}


def noise_folder(root: Path, seed: int = 0) -> Path:
    """IEMOCAP 4-class text + generated noise audio / video in the GCNet layout under ``root``."""
    from erc_data import ERCDataset, load_gcnet
    from erc_data.conversation import Conversation
    from erc_data.synthetic import write_gcnet_layout

    folder = root / f"iemocap-noise-seed{seed}"
    if (folder / "IEMOCAP" / "done").is_file():
        return folder / "IEMOCAP"
    text = load_gcnet(DATA / "IEMOCAP", "IEMOCAPFour", {"text": TEXT}, cache_dir=False)
    rng = np.random.default_rng(seed)
    conversations = [
        Conversation(
            c.id,
            c.utterance_ids,
            c.speakers,
            c.labels,
            {
                **c.features,
                **{
                    m: rng.standard_normal((len(c), d), dtype=np.float32)
                    for m, d in NOISE_DIMS.items()
                },
            },
        )
        for c in text
    ]
    dataset = ERCDataset(
        conversations,
        name=text.name,
        task=text.task,
        num_classes=text.num_classes,
        modality_dims={**text.modality_dims, **NOISE_DIMS},
        speaker_names=text.speaker_names,
        release_split=text.release_split,
        folds=text.folds,
    )
    names = {"text": TEXT, "audio": "noise512-UTT", "video": "noise1024-UTT"}
    out = write_gcnet_layout(dataset, folder, "IEMOCAPFour", names)
    (out / "done").write_text("ok\n")
    return out


def setting_values(setting: str, root: Path) -> dict[str, Any]:
    """The data fields of the run config for ``setting``."""
    if setting == "a":
        features = {"text": TEXT, "audio": "noise512-UTT", "video": "noise1024-UTT"}
        data = {"data": str(noise_folder(root)), "dataset": "IEMOCAPFour", "features": features}
        return {**data, "fold": 5, "cache_dir": str(root / "cache")}
    if setting in ("a-text", "c"):
        iemocap = {"data": str(DATA / "IEMOCAP"), "dataset": "IEMOCAPFour"}
        return {**iemocap, "features": {"text": TEXT}, "fold": 5}
    if setting == "b":
        mosi = {"data": str(DATA / "CMUMOSI"), "dataset": "CMUMOSI"}
        return {**mosi, "features": {"text": TEXT, "audio": AUDIO}}
    raise ValueError(f"unknown setting {setting!r}; use one of {', '.join(SETTINGS)}")


def run(setting: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one (setting, variant); validation curve, test UME and wall time (cached)."""
    from iteach_app.config import resolve
    from iteach_app.training.trainer import Trainer

    run_dir = args.root / "runs" / setting / variant / f"e{args.epochs}-seed{args.seed}"
    done = run_dir / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    values = {**RECIPE, **setting_values(setting, args.root), **VARIANTS[variant][1]}
    values.update(epochs=args.epochs, seed=args.seed)
    config = resolve(overrides=values, source=f"{setting}/{variant}")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start = time.perf_counter()
    result = Trainer(config, run_dir, verbose=False).fit()
    wall = time.perf_counter() - start
    key = "waf" if result.ume.task == "classification" else "binary_waf"
    rate0 = [r[f"val_{key}@0"] for r in result.history]
    out = {
        "setting": setting,
        "variant": variant,
        "epochs": args.epochs,
        "steps": sum(r["steps"] for r in result.history),
        "wall_s": wall,
        "best_epoch": result.best_epoch,
        "val_best": result.best_metric,
        "val_rate0_curve": rate0,
        "first_epoch_above_half": next((i + 1 for i, v in enumerate(rate0) if v > 0.5), None),
        "test_avg": result.ume.average[key],
        "test_rate0": result.ume.per_rate[0][key],
        "metric": key,
    }
    done.write_text(json.dumps(out, indent=2) + "\n")
    return out


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of finished runs (validation selects, test reports)."""
    lines = [
        "| setting | variant | metric | val UME avg (best) | best epoch | first epoch val@0 > 0.5 "
        "| test UME avg | test rate 0 | steps | wall s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['variant']} | {r['metric']} | {r['val_best']:.3f} "
            f"| {r['best_epoch']} | {r['first_epoch_above_half'] or '-'} | {r['test_avg']:.3f} "
            f"| {r['test_rate0']:.3f} | {r['steps']} | {r['wall_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="a,a-text,b,c", help="comma-separated: a,a-text,b,c")
    parser.add_argument("--variants", default="before,after", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", type=Path, default=Path("/tmp/iteach-robust-fusion"))
    args = parser.parse_args(argv)
    if not (DATA / "IEMOCAP").is_dir():
        print(f"skipped: the shared data folder {DATA} is absent", file=sys.stderr)
        return 0
    import torch

    torch.set_num_threads(1)
    rows = []
    for setting in filter(None, args.settings.split(",")):
        for variant in filter(None, args.variants.split(",")):
            row = run(setting, variant, args)
            print(
                f"{setting}/{variant}: test {row['test_avg']:.3f} ({row['wall_s']:.0f} s)",
                file=sys.stderr,
            )
            rows.append(row)
    print("\n".join(f"- {k}: {SETTINGS[k]}" for k in dict.fromkeys(r["setting"] for r in rows)))
    used = dict.fromkeys(r["variant"] for r in rows)
    print("- variants: " + "; ".join(f"{k} = {VARIANTS[k][0]}" for k in used) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
