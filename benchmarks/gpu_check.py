"""Issue 31's GPU check as one prepared script, for a session lent a CUDA machine (the device
tool's `run`): the card, the paper-width training epochs (ITS, PRE; fp32 and bf16 autocast;
length buckets and padded), the UME sweep of eight rates and the inference latency on it; a real
`iteach-app train --preset paper` run on IEMOCAP 6-class text; and a DDP smoke test (two torchrun
ranks sharing the card over gloo, `ITEACH_DIST_BACKEND`). Prints a Markdown report and writes it,
with a JSON copy, to ``--out``; exits 1 if a step failed. ``--device cpu`` runs the same steps on
the CPU (how the tests check it; ``--quick`` keeps one row).

Shapes: the real IEMOCAP 6-class fold-5 conversations with random features at the paper's widths
(benchmarks/bucket_speed.py). The data folder must hold IEMOCAP/ in the release layout.

    python benchmarks/gpu_check.py [--device cuda] [--data DIR] [--out DIR] [--epochs 3]
        [--repeats 3] [--quick]                       # or: make bench-gpu

On a lent device machine (../shared does not travel; its image lacks some of the app's needs):
`bash benchmarks/gpu_prepare.sh` here fills the ignored .gpu-data/ (IEMOCAP, wheels), then one
`run` with carry [".gpu-data"], timeout_s 540 and the command

    pip install -q --no-index --no-deps --target /tmp/site .gpu-data/wheels/*.whl &&
    PYTHONPATH=/tmp/site:packages/ecce/src:packages/its/src:packages/missing/src:\
    packages/erc-data/src:apps/iteach/src python3 benchmarks/gpu_check.py --data .gpu-data \
    --out $OUT
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from bucket_speed import DATA, DIMS, RATES, epoch_seconds, set_buckets, widen
from speed_bench import SOURCES

from erc_data import ERCDataset, collate_conversations, load_gcnet
from iteach_app.config import resolve
from iteach_app.training import plans
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.run_folder import RunFolder
from iteach_app.training.step import autocast

from timing import sync

ROOT = Path(__file__).resolve().parents[1]


def environment(device: torch.device) -> dict[str, object]:
    """The versions and the card the figures belong to."""
    facts: dict[str, object] = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        card = torch.cuda.get_device_properties(device)
        facts.update(
            card=card.name,
            cuda=torch.version.cuda,
            multiprocessors=card.multi_processor_count,
            memory_gib=round(card.total_memory / 2**30, 1),
        )
    return facts


def inference_ms(
    student: torch.nn.Module, test: ERCDataset, device: torch.device, precision: str
) -> float:
    """Median milliseconds of the student on one conversation at a time (the streaming case)."""
    times = []
    with torch.no_grad(), autocast(precision, device):
        for conversation in test:
            batch = collate_conversations([conversation]).to(device)
            sync(device)
            start = time.perf_counter()
            student(features=batch.features, utterance_mask=batch.utterance_mask)
            sync(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def speed_rows(
    device: torch.device, train: ERCDataset, test: ERCDataset, repeats: int, quick: bool
) -> list[dict[str, object]]:
    """Seconds per training epoch (best of ``repeats`` after a two-step warm-up) per recipe,
    framework, precision and batching mode; for ITS also the UME sweep and the latency."""
    recipes = [(32, "paper")] + ([] if quick else [(8, "default")])
    frameworks = ("its",) if quick else ("its", "pre")
    precisions = ("32", "bf16") if device.type == "cuda" and not quick else ("32",)
    modes = (True,) if quick else (True, False)
    utterances = sum(len(c) for c in train)
    rows = []
    for size, preset in recipes:
        for framework in frameworks:
            for precision in precisions:
                config = resolve(
                    overrides={
                        "synthetic": "iemocap6",
                        "framework": framework,
                        "student": "nas",
                        "preset": preset,
                        "batch_size": size,
                        "device": device.type,
                        "precision": precision,
                    }
                )
                model = build_framework(config, DIMS, 6, "classification").to(device)
                optimizer = build_optimizer(model, config)
                batches = plans.epoch_batches(train, config, 0)
                budget = config.max_utterances_per_batch or None
                evaluation = plans.evaluation_batches(test, size, budget, device)
                for buckets in modes:
                    set_buckets(model, buckets)
                    model.train()
                    run = (model, optimizer, train)
                    epoch_seconds(*run, batches[:2], str(device), precision)
                    best = min(
                        epoch_seconds(*run, batches, str(device), precision) for _ in range(repeats)
                    )
                    row = {
                        "recipe": f"{preset} (batch {size})",
                        "framework": framework,
                        "precision": precision,
                        "batching": "buckets" if buckets else "padded",
                        "epoch_s": best,
                        "utterances_per_s": utterances / best,
                    }
                    if framework == "its":
                        sweep = []
                        for _ in range(repeats):
                            sync(device)
                            start = time.perf_counter()
                            evaluate_student(
                                model.student, evaluation, task="classification", rates=RATES,
                                seed=0, keep_at_least=1, precision=precision,
                            )  # fmt: skip
                            sync(device)
                            sweep.append(time.perf_counter() - start)
                        row["ume_s"] = min(sweep)
                        row["latency_ms"] = inference_ms(model.student, test, device, precision)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def app_command(args: list[str], out: Path, *, torchrun: int = 0) -> dict[str, object]:
    """``iteach-app train ARGS`` (under torchrun with ``torchrun`` ranks sharing the device over
    gloo when > 0) on IEMOCAP 6-class text: its wall time, exit status and UME average."""
    launcher = [sys.executable]
    if torchrun:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={torchrun}"]
    command = [*launcher, "-m", "iteach_app", "train", *args, "--out", str(out)]
    paths = [str(ROOT / source) for source in SOURCES]
    inherited = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*paths, inherited] if inherited else paths),
        "ITEACH_DIST_BACKEND": "gloo",
    }
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    tables = sorted(out.glob("*/ume.json"))
    ranks = re.search(r" x (\d+) DDP ranks \((\w+)\)", done.stderr + done.stdout)
    result: dict[str, object] = {
        "status": "ok" if done.returncode == 0 and tables else "failed",
        "wall_s": seconds,
        "exit": done.returncode,
        "ranks": int(ranks.group(1)) if ranks else 1,
        "backend": ranks.group(2) if ranks else None,
    }
    if tables:
        result["ume_average_waf"] = RunFolder(tables[0].parent).read_ume().average["waf"]
    if result["status"] != "ok":
        result["stderr_tail"] = done.stderr[-2000:]
    return result


def report(facts: dict, rows: list[dict], train_run: dict, ddp: dict) -> str:
    """The Markdown report of every figure."""
    lines = ["# GPU check (issue 31)", ""]
    lines += [f"- {name}: {value}" for name, value in facts.items()]
    lines += [
        "",
        "| recipe | framework | precision | batching | s/epoch | utt/s | UME 8 rates s | ms/conv |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ume = f"{row['ume_s']:.3f}" if "ume_s" in row else ""
        latency = f"{row['latency_ms']:.2f}" if "latency_ms" in row else ""
        lines.append(
            f"| {row['recipe']} | {row['framework']} | {row['precision']} | {row['batching']} | "
            f"{row['epoch_s']:.3f} | {row['utterances_per_s']:.0f} | {ume} | {latency} |"
        )
    for title, result in (("train --preset paper", train_run), ("DDP smoke test", ddp)):
        waf = result.get("ume_average_waf")
        lines.append(
            f"\n{title}: {result['status']} (exit {result['exit']}, {result['ranks']} rank(s)"
            + (f" over {result['backend']}" if result["backend"] else "")
            + f", {result['wall_s']:.1f} s"
            + (f", test UME average WAF {waf:.4f})" if waf is not None else ")")
        )
        if "stderr_tail" in result:
            lines += ["```", str(result["stderr_tail"]), "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding IEMOCAP/")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu-check")))
    parser.add_argument("--epochs", type=int, default=3, help="of the real train run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one speed row, one epoch (tests)")
    args = parser.parse_args()
    if not (args.data / "IEMOCAP").is_dir():
        print(f"skipped: IEMOCAP not found under {args.data} (--data or ITEACH_SHARED_DATA)")
        return 0
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device here (--device cpu runs the same steps)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    facts = environment(device)
    print(json.dumps(facts), flush=True)
    dataset = load_gcnet(str(args.data / "IEMOCAP"), "IEMOCAPSix", {"text": "minilm-384-UTT"})
    train_real, _, test_real = dataset.split(fold=5, val_fraction=0.1, seed=0)
    rows = speed_rows(device, widen(train_real, 0), widen(test_real, 1), args.repeats, args.quick)
    common = [
        "--data", str(args.data / "IEMOCAP"), "--dataset", "IEMOCAPSix",
        "--features", "text=minilm-384-UTT", "--fold", "5", "--checkpoint-every", "0",
    ]  # fmt: skip
    single = "cuda:0" if device.type == "cuda" else "cpu"
    train_run = app_command(
        [*common, "--preset", "paper", "--epochs", str(args.epochs), "--device", args.device],
        args.out / "train",
    )
    ddp = app_command([*common, "--epochs", "1", "--device", single], args.out / "ddp", torchrun=2)
    text = report(facts, rows, train_run, ddp)
    print(text)
    (args.out / "gpu_check.md").write_text(text)
    summary = {"environment": facts, "speed": rows, "train": train_run, "ddp": ddp}
    (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=1))
    return 0 if train_run["status"] == ddp["status"] == "ok" and ddp["ranks"] == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
