"""Throughput before and after, measured back to back in one run: seconds per training epoch
(ITS, PRE), utterances/s, UME evaluation of all eight rates on the test split, and student
inference latency per conversation, for this tree and for a git ref (default 7597c5f, the code
before the throughput work) checked out into a temporary `git worktree`; then the fixed cost of
a `train` run by the issue's measure on both trees (whole 1- and 3-epoch processes: per epoch =
their difference / 2, fixed = the 1-epoch run - per epoch) and on this tree phase by phase
(benchmarks/fixed_cost.py).

Shapes: the real IEMOCAP 6-class fold-5 conversations (lengths, labels) with random features at
the paper's widths (text 1024, audio 512, video 1024). Rows: the paper's recipe (batch 32) and
the default recipe (batch 8), each with length buckets (this tree's default) and padded
(`bucket_forward` off), length-aware batching, and the ref at both batch sizes. Each tree runs
MEASURE in its own subprocess with PYTHONPATH on that tree's package sources; MEASURE uses only
APIs both trees have, and the newer settings where the tree has them.

    python benchmarks/speed_bench.py [--ref 7597c5f] [--threads 2] [--repeats 3] [--no-variants]
        [--bf16] [--no-fixed-cost]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixed_cost import train_options

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ITEACH_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCES = (
    "packages/ecce/src",
    "packages/its/src",
    "packages/missing/src",
    "packages/erc-data/src",
    "apps/iteach/src",
)

MEASURE = r"""
import json, statistics, sys, time
import numpy as np
import torch
from erc_data import Conversation, ERCDataset, collate_conversations, load_gcnet
from iteach_app.config import resolve
from missing_modality import ModalityMasker, parse_schedule
try:  # the app since training/ split evaluation, framework and step into modules
    from iteach_app.training.evaluation import evaluate_student
    from iteach_app.training.framework import build_framework, build_optimizer
    from iteach_app.training.step import run_step

    def loss_of(model, batch, framework, **kw):
        return run_step(model, batch, **kw).loss
except ImportError:  # before it (7597c5f)
    from iteach_app.evaluate import evaluate_student
    from iteach_app.framework import build_framework, build_optimizer
    from iteach_app.step import step_output

    def loss_of(model, batch, framework, **kw):
        return step_output(model, batch, with_teacher=framework != "pre", **kw)[0].loss

data, threads, settings = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
repeats = int(sys.argv[4])
ref_batch = settings.pop("ref_batch", 32)  # the ref's batch size (it has no presets)
torch.set_num_threads(threads)
DIMS = {"text": 1024, "audio": 512, "video": 1024}
try:
    from iteach_app.training import plans
    from iteach_app.training.step import autocast
except ImportError:
    plans = None
    import contextlib
    autocast = lambda precision, device: contextlib.nullcontext()

def widen(dataset, seed):
    rng = np.random.default_rng(seed)
    out = []
    for c in dataset:
        f = {m: rng.standard_normal((len(c.labels), d)).astype(np.float32) for m, d in DIMS.items()}
        out.append(Conversation(c.id, list(c.utterance_ids), c.speakers, c.labels, f))
    return ERCDataset(out, name="bench", task="classification", num_classes=6, modality_dims=DIMS)

ds = load_gcnet(data + "/IEMOCAP", "IEMOCAPSix", {"text": "minilm-384-UTT"})
train_real, _, test_real = ds.split(fold=5, val_fraction=0.1, seed=0)
train, test = widen(train_real, 0), widen(test_real, 1)
n_train = sum(len(c.labels) for c in train)
out = {"utterances": n_train}
cpu = torch.device("cpu")
for framework in ("its", "pre"):
    overrides = {"synthetic": "iemocap6", "framework": framework, "student": "nas", "device": "cpu"}
    if plans is not None:  # the paper's recipe unless settings name another preset
        overrides.update({"preset": "paper", **settings})
    elif ref_batch != 32:
        overrides["batch_size"] = ref_batch
    config = resolve(overrides=overrides)
    model = build_framework(config, DIMS, 6, "classification")
    optimizer = build_optimizer(model, config)
    masker = ModalityMasker(model.student.modalities)
    schedule = parse_schedule("random")
    if plans is not None:
        batches = plans.epoch_batches(train, config, 0)
    else:
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0)).tolist()
        batches = [order[i : i + ref_batch] for i in range(0, len(order), ref_batch)]
    precision = getattr(config, "precision", "32")
    steps = list(enumerate(batches))

    def run_epoch(chosen):
        start = time.perf_counter()
        for step, indices in chosen:
            b = collate_conversations([train[i] for i in indices])
            with autocast(precision, cpu):
                loss = loss_of(
                    model, b, framework, masker=masker, schedule=schedule, seed=0, epoch=0,
                    step=step,
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    run_epoch(steps[:2])  # warm-up: first allocations and kernel choices are not an epoch's
    epochs = [run_epoch(steps) for _ in range(repeats)]
    out[framework] = min(epochs)
    if framework == "its":
        student = model.student.eval()
        if plans is not None:
            budget = config.max_utterances_per_batch or None
            eval_batches = plans.evaluation_batches(test, 32, budget, cpu)
            kwargs = {"precision": precision}
        else:
            idx = list(range(len(test)))
            eval_batches = [collate_conversations([test[i] for i in idx[j : j + 32]])
                            for j in range(0, len(idx), 32)]
            kwargs = {}
        ume, latency = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            evaluate_student(student, eval_batches, task="classification",
                             rates=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), seed=0,
                             keep_at_least=1, **kwargs)
            ume.append(time.perf_counter() - start)
            times = []
            with torch.no_grad(), autocast(precision, cpu):
                for c in test:
                    b = collate_conversations([c])
                    t = time.perf_counter()
                    student(features=b.features, utterance_mask=b.utterance_mask)
                    times.append(time.perf_counter() - t)
            latency.append(statistics.median(times) * 1e3)
        out["ume"], out["latency_ms"] = min(ume), min(latency)
print(json.dumps(out))
"""


def run_on(
    tree: Path, args: list[str], threads: int, extra_path: str = "", **variables: str
) -> subprocess.CompletedProcess:
    """``python *args`` in ``tree`` with PYTHONPATH on that tree's package sources (then
    ``extra_path``), ``threads`` OpenMP threads and the environment ``variables`` added; a
    failure ends the benchmark with the tail of its stderr."""
    paths = [str(tree / s) for s in SOURCES] + ([extra_path] if extra_path else [])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(paths),
        "OMP_NUM_THREADS": str(threads),
        **variables,
    }
    out = subprocess.run(
        [sys.executable, *args], check=False, capture_output=True, text=True, env=env, cwd=tree
    )
    if out.returncode:
        raise SystemExit(f"{args[0]} {args[1][:40]!r} on {tree} failed:\n{out.stderr[-3000:]}")
    return out


def last_json(out: subprocess.CompletedProcess) -> dict:
    """The JSON object on the last line a measurement printed."""
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tree: Path, threads: int, settings: dict, repeats: int, extra_path: str = "") -> dict:
    """MEASURE run on ``tree``'s sources (then ``extra_path``) in a fresh interpreter (best of
    ``repeats`` each)."""
    args = ["-c", MEASURE, str(DATA), str(threads), json.dumps(settings), str(repeats)]
    return last_json(run_on(tree, args, threads, extra_path))


def interleaved(
    jobs: dict[str, tuple[Path, dict, str]], threads: int, repeats: int
) -> dict[str, dict]:
    """`measure` of every job (label -> tree, settings, extra import path) once per round, the
    rows in turn, ``repeats`` rounds; each figure is its best over the rounds. Interleaving puts
    a slow minute of a shared machine on every row alike instead of on whichever ran then."""
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for label, (tree, settings, extra_path) in jobs.items():
            m = measure(tree, threads, settings, 1, extra_path)
            if label in best:
                m = {k: v if k == "utterances" else min(v, best[label][k]) for k, v in m.items()}
            best[label] = m
    return best


def row(label: str, m: dict) -> str:
    """One table row of a measurement."""
    return (
        f"| {label} | {m['its']:.2f} | {m['utterances'] / m['its']:.0f} | {m['pre']:.2f} | "
        f"{m['ume']:.2f} | {m['ume'] / m['its']:.2f} | {m['latency_ms']:.1f} |"
    )


WHOLE_RUN = (
    # the console script: cli.run where the tree has it (the fast exit), cli.app before it
    "import sys; import iteach_app.cli as cli; sys.argv[0] = 'iteach-app'; "
    "getattr(cli, 'run', cli.app)()"
)


def whole_runs(trees: dict[str, tuple[Path, str]], threads: int, repeats: int) -> dict[str, dict]:
    """The issue's own measure of start-up and tear-down, on every tree back to back: whole
    ``iteach-app train`` processes of 1 and 3 epochs (real IEMOCAP 6-class fold 5, text, each
    tree's defaults), per epoch = (3-epoch - 1-epoch) / 2, fixed = 1-epoch - per epoch; best of
    ``repeats`` each, the trees interleaved so a load change hits them alike. ``trees``: label ->
    (tree, extra import path)."""
    best: dict[str, dict[int, float]] = {label: {} for label in trees}
    with tempfile.TemporaryDirectory(prefix="iteach-whole-") as tmp:
        cache = str(Path(tmp) / "cache")
        # the first round warms caches (audit, disk) and is dropped
        for repeat in range(repeats + 1):
            for label, (tree, extra_path) in trees.items():
                for epochs in (1, 3):
                    out = Path(tmp) / f"{label}-{repeat}-{epochs}".replace(" ", "_")
                    options = [*train_options(epochs, threads, str(out)), "--quiet"]
                    start = time.perf_counter()
                    run_on(
                        tree, ["-c", WHOLE_RUN, *options], threads, extra_path, ITEACH_CACHE=cache
                    )
                    seconds = time.perf_counter() - start
                    if repeat:
                        best[label][epochs] = min(best[label].get(epochs, seconds), seconds)
    table = {}
    for label, runs in best.items():
        per_epoch = (runs[3] - runs[1]) / 2
        table[label] = {"one": runs[1], "three": runs[3], "per_epoch": per_epoch}
        table[label]["fixed"] = runs[1] - per_epoch
    return table


def print_whole(table: dict[str, dict]) -> None:
    """The whole-run table and the fixed-cost ratio of the first tree (the ref) to the others."""
    print(
        "\nWhole `iteach-app train` processes (IEMOCAP 6-class fold 5, text, each tree's defaults):"
    )
    print("| code | 1 epoch s | 3 epochs s | per epoch s | fixed s (1 epoch - per epoch) |")
    print("|---|---:|---:|---:|---:|")
    for label, m in table.items():
        print(
            f"| {label} | {m['one']:.2f} | {m['three']:.2f} | {m['per_epoch']:.2f} | "
            f"{m['fixed']:.2f} |"
        )
    first, *others = table
    for label in others:
        print(
            f"fixed cost, {label} vs {first}: "
            f"x{table[first]['fixed'] / table[label]['fixed']:.2f} less"
        )


def fixed_cost(threads: int, repeats: int) -> dict[str, dict]:
    """benchmarks/fixed_cost.py on this tree: a 1-epoch run with the audit cache cold (once),
    then warm (best of ``repeats`` by run time), and with --no-audit (once)."""
    script = str(ROOT / "benchmarks" / "fixed_cost.py")

    def once(cache: str) -> dict:
        return last_json(
            run_on(ROOT, [script, "--threads", str(threads), "--audit-cache", cache], threads)
        )

    cold = once("cold")
    warm = min((once("warm") for _ in range(repeats)), key=lambda m: m["run"])
    return {"audit cache cold": cold, "audit cache warm": warm, "--no-audit": once("off")}


PHASES = ("import", "load", "audit", "model", "standardiser", "epochs", "diagnostics", "validation")
PER_EPOCH = ("epochs", "diagnostics", "validation")


def print_fixed(costs: dict[str, dict]) -> None:
    """The fixed-cost table: seconds per phase; fixed = process - (epochs + diagnostics +
    validation), the issue's measure (the last two run every epoch: per-epoch time)."""
    names = (*PHASES, "final table", "other")
    print("\n1-epoch `train` run on IEMOCAP 6-class fold 5 (real text features), this tree:")
    print("| run | " + " | ".join(names) + " | process | fixed (process - per-epoch phases) |")
    print("|---|" + "---:|" * (len(names) + 2))
    for label, m in costs.items():
        cells = " | ".join(f"{m.get(n, 0.0):.2f}" for n in names)
        fixed = m["process"] - sum(m.get(n, 0.0) for n in PER_EPOCH)
        print(f"| {label} | {cells} | {m['process']:.2f} | {fixed:.2f} |")


ROWS: dict[str, tuple[str, dict]] = {
    "ref32": ("before ({ref}), batch 32", {}),
    "ref8": ("before ({ref}), batch 8", {"ref_batch": 8}),
    "buckets": ("this tree, paper recipe (batch 32), buckets (default)", {}),
    "padded": ("this tree, batch 32, padded (--no-bucket-forward)", {"bucket_forward": False}),
    "length_aware": ("this tree, batch 32, length_aware + buckets", {"length_aware": True}),
    "batch8": ("this tree, default recipe (batch 8), buckets", {"preset": "default"}),
    "batch8_padded": (
        "this tree, default recipe (batch 8), padded",
        {"preset": "default", "bucket_forward": False},
    ),
    "bf16": ("this tree, batch 32, bf16", {"precision": "bf16"}),
}
BF16_ONLY = ("bf16",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="7597c5f", help="git ref of the code to compare with")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings are the best of this many (noisy machines)"
    )
    parser.add_argument(
        "--variants",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also padded, length-aware and the default recipe (batch 8) (default on)",
    )
    parser.add_argument("--bf16", action="store_true", help="also bf16 autocast")
    parser.add_argument(
        "--rows", default="", help=f"comma-separated rows to measure: ref32 and any of {list(ROWS)}"
    )
    parser.add_argument(
        "--ref-path",
        default=os.environ.get("ITEACH_REF_PATH", ""),
        help="extra import path for the ref's dependencies that this tree no longer has (7597c5f "
        "needs einops: pip install --target /tmp/ref-deps einops; --ref-path /tmp/ref-deps)",
    )
    parser.add_argument(
        "--fixed-cost",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also the fixed cost of a 1-epoch run, phase by phase (default on)",
    )
    args = parser.parse_args()
    if not (DATA / "IEMOCAP").is_dir():
        print(f"skipped: real data not found at {DATA} (set ITEACH_SHARED_DATA)")
        return
    chosen = args.rows.split(",") if args.rows else [k for k in ROWS if k not in BF16_ONLY]
    if not args.rows and not args.variants:
        chosen = ["ref32", "buckets"]
    if args.bf16 and "bf16" not in chosen:
        chosen.append("bf16")
    unknown = [key for key in chosen if key not in ROWS]
    if unknown or "ref32" not in chosen:
        raise SystemExit(f"--rows: give ref32 and any of {', '.join(ROWS)} (got {args.rows!r})")
    refs, variants = {}, {}
    for key in chosen:
        label, settings = ROWS[key]
        if key.startswith("ref"):
            refs[label.format(ref=args.ref)] = settings
        else:
            variants[label] = settings
    with tempfile.TemporaryDirectory(prefix="iteach-ref-") as tmp:
        old = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), args.ref],
            check=True,
        )
        try:
            jobs = {label: (old, s, args.ref_path) for label, s in refs.items()}
            jobs.update({label: (ROOT, s, "") for label, s in variants.items()})
            best = interleaved(jobs, args.threads, args.repeats)
            before = {label: best[label] for label in refs}
            after = {label: best[label] for label in variants}
            whole = None
            if args.fixed_cost:
                trees = {f"before ({args.ref})": (old, args.ref_path), "this tree": (ROOT, "")}
                whole = whole_runs(trees, args.threads, args.repeats)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False
            )
    first = next(iter(before.values()))
    print(
        f"IEMOCAP 6-class fold 5 shapes ({first['utterances']} training utterances), paper "
        f"widths, {args.threads} thread(s), best of {args.repeats}"
    )
    print(
        "| code | ITS s/epoch | ITS utt/s | PRE s/epoch | UME 8 rates s | UME / ITS epoch "
        "| inference ms/conv |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, m in {**before, **after}.items():
        print(row(label, m))
    for label, m in after.items():
        batch8 = before.get(f"before ({args.ref}), batch 8")
        base = batch8 if "batch 8" in label and batch8 is not None else first
        print(
            f"{label} vs before at the same batch size: ITS x{base['its'] / m['its']:.2f} "
            f"faster, PRE x{base['pre'] / m['pre']:.2f}, UME x{base['ume'] / m['ume']:.2f}, "
            f"inference x{base['latency_ms'] / m['latency_ms']:.2f}"
        )
    if whole is not None:
        print_whole(whole)
        print_fixed(fixed_cost(args.threads, args.repeats))


if __name__ == "__main__":
    main()
