"""The `iteach-app` command line: train, evaluate, demo, plot, data info / synth."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from erc_data import DataError
from iteach_app.checkpoint import CheckpointError
from iteach_app.config import ConfigError, from_run_dir, load_toml, parse_features, resolve

app = typer.Typer(
    help="ITEACH-Net for incomplete multimodal emotion recognition in conversation.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect a dataset or write a synthetic one.", no_args_is_help=True)
app.add_typer(data_app, name="data")

err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def _clear_errors(func: F) -> F:
    """Turn the app's own errors into one red line and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, CheckpointError, DataError, FileNotFoundError, FileExistsError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------------- options
DataOpt = Annotated[
    Path | None, typer.Option(help="GCNet-layout data folder, e.g. ../shared/data/IEMOCAP")
]
DatasetOpt = Annotated[
    str | None, typer.Option(help="IEMOCAPFour, IEMOCAPSix, CMUMOSI or CMUMOSEI")
]
FeaturesOpt = Annotated[
    str | None,
    typer.Option(help="modality=folder pairs, e.g. text=minilm-384-UTT,audio=covarep73-UTT"),
]
SyntheticOpt = Annotated[
    str | None, typer.Option(help="built-in synthetic data instead: iemocap4, iemocap6 or mosi")
]
DeviceOpt = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N or auto")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or epoch lines")]


def _data_overrides(
    data: Path | None, dataset: str | None, features: str | None, synthetic: str | None
) -> dict[str, Any]:
    return {
        "data": str(data) if data is not None else None,
        "dataset": dataset,
        "features": parse_features(features) if features is not None else None,
        "synthetic": synthetic,
    }


# ---------------------------------------------------------------------------- train
@app.command()
@_clear_errors
def train(
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config; options given here override its values"),
    ] = None,
    data: DataOpt = None,
    dataset: DatasetOpt = None,
    features: FeaturesOpt = None,
    synthetic: SyntheticOpt = None,
    synthetic_dialogues: Annotated[
        int | None, typer.Option(help="conversations in the synthetic set")
    ] = None,
    fold: Annotated[
        str | None, typer.Option(help="IEMOCAP test session(s): 5, 1,2,3 or all")
    ] = None,
    seed: Annotated[str | None, typer.Option(help="seed(s): 0 or 0,1,2 (one run each)")] = None,
    framework: Annotated[str | None, typer.Option(help="its, ts or pre")] = None,
    teacher: Annotated[str | None, typer.Option(help="teacher kind: transformer or nas")] = None,
    student: Annotated[str | None, typer.Option(help="student kind: transformer or nas")] = None,
    teacher_layers: Annotated[int | None, typer.Option(help="default: ITS 3, TS 4")] = None,
    student_layers: Annotated[int | None, typer.Option(help="default: ITS 4, TS 3, PRE 4")] = None,
    hidden_dim: Annotated[int | None, typer.Option(help="hidden size (paper: 128)")] = None,
    num_heads: Annotated[int | None, typer.Option(help="attention heads (paper: 8)")] = None,
    dropout: Annotated[float | None, typer.Option(help="dropout (default 0.1)")] = None,
    mask_schedule: Annotated[
        str | None, typer.Option(help="random, progressive or constant:R")
    ] = None,
    keep_at_least: Annotated[
        int | None, typer.Option(help="modalities always kept per utterance (default 1)")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="epochs (paper: 100)")] = None,
    batch_size: Annotated[int | None, typer.Option(help="conversations per batch (32)")] = None,
    lr: Annotated[float | None, typer.Option(help="AdamW learning rate (5e-4)")] = None,
    router_lr: Annotated[float | None, typer.Option(help="router learning rate (5e-3)")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="AdamW weight decay (0.01)")] = None,
    grad_clip: Annotated[float | None, typer.Option(help="max grad norm; 0 = off")] = None,
    regression_loss: Annotated[
        str | None, typer.Option(help="MOSI/MOSEI loss: mse (paper eq. 13) or mae")
    ] = None,
    select_on: Annotated[
        str | None, typer.Option(help="val (default) or test (the paper's IEMOCAP protocol)")
    ] = None,
    device: DeviceOpt = None,
    threads: Annotated[
        int | None, typer.Option(help="torch CPU threads (default: torch's; 1 on a busy machine)")
    ] = None,
    checkpoint_every: Annotated[
        int | None, typer.Option(help="save a resumable checkpoint every N steps (0 = epoch ends)")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder that holds the run folders")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="run folder name (default: derived)")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue this interrupted run from its last checkpoint")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Train ITEACH-Net (or the TS / PRE ablations) and report the UME table on the test split."""
    from iteach_app import distributed
    from iteach_app.runs import expand, parse_int_list, run_dir_for, summary_table

    info = distributed.detect()
    overrides = {
        **_data_overrides(data, dataset, features, synthetic),
        "synthetic_dialogues": synthetic_dialogues,
        "framework": framework,
        "teacher": teacher,
        "student": student,
        "teacher_layers": teacher_layers,
        "student_layers": student_layers,
        "hidden_dim": hidden_dim,
        "num_heads": num_heads,
        "dropout": dropout,
        "mask_schedule": mask_schedule,
        "keep_at_least": keep_at_least,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "router_lr": router_lr,
        "weight_decay": weight_decay,
        "grad_clip": grad_clip,
        "regression_loss": regression_loss,
        "select_on": select_on,
        "device": device,
        "threads": threads,
        "checkpoint_every": checkpoint_every,
    }
    if resume is not None:
        given = [
            "--" + key.replace("_", "-")
            for key, value in overrides.items()
            if value is not None and key not in ("device", "threads")
        ]
        extra = (("--config", config_file), ("--fold", fold), ("--seed", seed), ("--name", name))
        given += [flag for flag, value in extra if value is not None]
        if given:
            raise ConfigError(
                f"--resume continues {resume} with its own config.toml; drop "
                f"{', '.join(given)} (only --device and --threads apply)"
            )
        config = from_run_dir(resume)
        changes = {"device": device, "threads": threads}
        if any(v is not None for v in changes.values()):
            config = resolve(config.to_dict(), changes, source=str(resume))
        jobs = [(config, resume, True)]
    else:
        file_values = load_toml(config_file) if config_file is not None else {}
        folds = parse_int_list(fold, "fold", all_values=(1, 2, 3, 4, 5))
        seeds = parse_int_list(seed, "seed")
        overrides["fold"] = folds[0] if folds else None
        overrides["seed"] = seeds[0] if seeds else None
        source = str(config_file) if config_file is not None else "options"
        base = resolve(file_values, overrides, source=source)
        configs = expand(base, folds, seeds)
        multiple = len(configs) > 1
        jobs = [(c, run_dir_for(c, out, name, multiple), False) for c in configs]
    results = _train_jobs(jobs, info, quiet)
    if results and len(results) > 1 and info.is_main:
        typer.echo("\nSummary\n" + summary_table(results))


def _train_jobs(jobs: list, info: Any, quiet: bool) -> dict:
    from iteach_app import distributed
    from iteach_app.evaluate import protocol_note
    from iteach_app.train import Trainer

    results = {}
    device = distributed.device_for(jobs[0][0].device, info)
    distributed.init(info, device)
    try:
        for config, run_dir, resume in jobs:
            run_dir = Path(run_dir)
            trainer = Trainer(
                config,
                run_dir,
                resume=resume,
                dist_info=info,
                verbose=not quiet,
                console=err_console,
            )
            outcome = trainer.fit()
            if info.is_main and outcome.ume is not None:
                results[run_dir.name] = outcome.ume
                typer.echo(
                    f"\nUME on the test split: {run_dir.name} "
                    f"({protocol_note(config)}; best epoch {outcome.best_epoch})\n"
                    f"{outcome.ume.to_markdown()}run folder: {run_dir}"
                )
    finally:
        distributed.shutdown(info)
    return results


# ---------------------------------------------------------------------------- evaluate
@app.command()
@_clear_errors
def evaluate(
    run: Annotated[Path, typer.Argument(help="a run folder written by `iteach-app train`")],
    split: Annotated[str, typer.Option(help="test (default), val or train")] = "test",
    device: DeviceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """UME over the run's missing rates (0.0..0.7) for its best student; same numbers every time."""
    from iteach_app.evaluate import SELECTION_METRIC, evaluate_run, protocol_note

    config, result = evaluate_run(run, device=device or "auto", split=split)
    note = protocol_note(config)
    if as_json:
        payload = {**result.to_dict(), "run": str(run), "split": split, "selection_note": note}
        typer.echo(json.dumps(payload, indent=2))
        return
    key = SELECTION_METRIC[result.task]
    typer.echo(
        f"UME on the {split} split: {run} ({note})\n{result.to_markdown()}"
        f"{key} average {result.average[key]:.4f}, decline {result.decline[key]:.4f}"
    )


# ---------------------------------------------------------------------------- demo
@app.command()
@_clear_errors
def demo(
    out: Annotated[Path, typer.Option(help="where the two runs, table and plot go")] = Path(
        "runs/demo"
    ),
    epochs: Annotated[int | None, typer.Option(help="epochs per model (default 10)")] = None,
    seed: Annotated[int, typer.Option(help="seed of data, models and masks")] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Train ITEACH-Net and the PRE baseline on synthetic data; print their UME side by side."""
    from iteach_app.demo import run_demo

    result = run_demo(out, seed=seed, epochs=epochs, verbose=not quiet, console=err_console)
    typer.echo(
        "\nUME on the test split (synthetic IEMOCAP-like data; selected on validation)\n\n"
        f"{result.table}\ntable: {result.out / 'compare.md'}   plot: {result.out / 'ume.png'}"
    )


# ---------------------------------------------------------------------------- params
@app.command()
def params(
    classes: Annotated[int, typer.Option(help="output classes of the classifier")] = 4,
) -> None:
    """Parameter counts of teacher and student at the paper's input dims, vs its Table 3."""
    from iteach_app.model import paper_parameter_table

    typer.echo(paper_parameter_table(num_classes=classes))


# ---------------------------------------------------------------------------- plot
@app.command()
@_clear_errors
def plot(
    run: Annotated[Path, typer.Argument(help="a finished run folder")],
    out: Annotated[Path | None, typer.Option(help="figure folder (default RUN/figures)")] = None,
    conversation: Annotated[int, typer.Option(help="test conversation for the ECCE heatmap")] = 0,
    device: DeviceOpt = None,
) -> None:
    """The paper's figures: UME curve, confusion per rate, ECCE heatmap (Fig. 5), t-SNE (Fig. 9)."""
    from iteach_app.plots import plot_run

    written = plot_run(run, out=out, conversation=conversation, device=device or "auto")
    for path in written:
        typer.echo(str(path))


# ---------------------------------------------------------------------------- data
@data_app.command("info")
@_clear_errors
def data_info(
    data: DataOpt = None,
    dataset: DatasetOpt = None,
    features: FeaturesOpt = None,
    synthetic: SyntheticOpt = None,
    fold: Annotated[int | None, typer.Option(help="IEMOCAP fold to split on")] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation carve")] = 0,
) -> None:
    """Conversations, utterances, modalities, labels and split sizes of a dataset."""
    from iteach_app.data import build_splits

    overrides = {**_data_overrides(data, dataset, features, synthetic), "fold": fold, "seed": seed}
    bundle = build_splits(resolve(overrides=overrides, source="options"))
    ds = bundle.dataset
    lines = [
        f"dataset      {ds.name} ({ds.task}"
        + (f", {ds.num_classes} classes)" if ds.num_classes else ")"),
        f"size         {len(ds)} conversations, {ds.num_utterances} utterances",
        "modalities   " + ", ".join(f"{m} ({d})" for m, d in ds.modality_dims.items()),
    ]
    for part in ("train", "val", "test"):
        split = getattr(bundle, part)
        lines.append(f"{part:<12} {len(split)} conversations, {split.num_utterances} utterances")
    if ds.task == "classification":
        lines.append(f"labels       {ds.label_counts()}")
    typer.echo("\n".join(lines))


@data_app.command("synth")
@_clear_errors
def data_synth(
    out: Annotated[Path, typer.Argument(help="root folder to write the GCNet layout under")],
    name: Annotated[str, typer.Option(help="iemocap4, iemocap6 or mosi")] = "iemocap4",
    dialogues: Annotated[int | None, typer.Option(help="number of conversations")] = None,
    dims: Annotated[str | None, typer.Option(help="widths, e.g. text=64,audio=32,video=64")] = None,
    seed: Annotated[int, typer.Option(help="generator seed")] = 0,
) -> None:
    """Write a synthetic dataset in the GCNet release layout (readable with --data)."""
    from erc_data.synthetic import write_gcnet_layout
    from iteach_app.data import synthetic_dataset

    widths = None
    if dims is not None:
        try:
            widths = {m: int(d) for m, d in parse_features(dims).items()}
        except ValueError:
            raise ConfigError(f"--dims: {dims!r} must be modality=integer pairs") from None
    dataset = synthetic_dataset(name, seed=seed, num_dialogues=dialogues, dims=widths)
    gcnet_name = {"iemocap4": "IEMOCAPFour", "iemocap6": "IEMOCAPSix", "mosi": "CMUMOSI"}[name]
    folders = {m: f"{m}-{d}-UTT" for m, d in dataset.modality_dims.items()}
    folder = write_gcnet_layout(dataset, out, gcnet_name, folders)
    pairs = ",".join(f"{m}={f}" for m, f in folders.items())
    typer.echo(
        f"wrote {len(dataset)} conversations to {folder}\n"
        f"train on it: iteach-app train --data {folder} --dataset {gcnet_name} --features {pairs}"
    )
