"""`iteach-app data info` / `data audit` / `data synth`: inspect a dataset, audit its modalities,
or write a synthetic one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from iteach_app.commands.options import config_options
from iteach_app.config import FIELD_NAMES, ConfigError, parse_pairs, resolve

DATA_FIELDS = (
    "data",
    "dataset",
    "features",
    "synthetic",
    "synthetic_dialogues",
    "synthetic_dims",
    "conversations",
    "labels",
    "val_fraction",
)
AUDIT_FIELDS = (*DATA_FIELDS, "synthetic_max_length", "cache_dir")


@config_options(exclude=tuple(f for f in FIELD_NAMES if f not in DATA_FIELDS))
def info(
    fold: Annotated[int | None, typer.Option(help="IEMOCAP fold to split on", min=1, max=5)] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation carve", min=0)] = 0,
    *,
    overrides: dict[str, Any],
) -> None:
    """Conversations, utterances, modalities, labels and split sizes of a dataset."""
    from iteach_app.data import build_splits

    bundle = build_splits(
        resolve(overrides={**overrides, "fold": fold, "seed": seed}, source="options")
    )
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
        counts = ds.label_counts()
        if ds.label_names:
            counts = {ds.label_names[k]: n for k, n in counts.items()}
        lines.append(f"labels       {counts}")
    typer.echo("\n".join(lines))


@config_options(exclude=tuple(f for f in FIELD_NAMES if f not in AUDIT_FIELDS))
def audit(
    fold: Annotated[int | None, typer.Option(help="IEMOCAP fold to split on", min=1, max=5)] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation carve", min=0)] = 0,
    *,
    overrides: dict[str, Any],
) -> None:
    """Per modality: dims, mean norm, per-dim std range and a linear probe's validation score
    (fit on train) against the majority class; warns of modalities at chance or >10x in scale."""
    from iteach_app.data import build_splits
    from iteach_app.report.audit_cache import cached_audit

    config = resolve(overrides={**overrides, "fold": fold, "seed": seed}, source="options")
    bundle = build_splits(config)
    typer.echo(
        f"{bundle.dataset.name}: {len(bundle.train)}/{len(bundle.val)}/{len(bundle.test)} "
        "conversations (train/val/test); probes fit on train\n"
    )
    report, cached = cached_audit(bundle)
    typer.echo(report.to_markdown(), nl=False)
    if cached:
        typer.echo("(from the audit cache: the same data was audited before)")


GCNET_NAMES = {"iemocap4": "IEMOCAPFour", "iemocap6": "IEMOCAPSix", "mosi": "CMUMOSI"}


def synth(
    out: Annotated[Path, typer.Argument(help="root folder to write the GCNet layout under")],
    name: Annotated[str, typer.Option(help="iemocap4, iemocap6 or mosi")] = "iemocap4",
    dialogues: Annotated[int | None, typer.Option(help="number of conversations", min=1)] = None,
    dims: Annotated[str | None, typer.Option(help="widths, e.g. text=64,audio=32,video=64")] = None,
    seed: Annotated[int, typer.Option(help="generator seed", min=0)] = 0,
) -> None:
    """Write a synthetic dataset in the GCNet release layout (readable with --data)."""
    from erc_data.synthetic import write_gcnet_layout
    from iteach_app.data import synthetic_dataset

    if name not in GCNET_NAMES:
        raise ConfigError(f"--name must be one of {', '.join(GCNET_NAMES)}; got {name!r}")
    widths = None
    if dims is not None:
        try:
            widths = {m: int(d) for m, d in parse_pairs(dims, "--dims").items()}
        except ValueError:
            raise ConfigError(f"--dims: {dims!r} must be modality=integer pairs") from None
        zero = [f"{m}={d}" for m, d in widths.items() if d < 1]
        if zero:
            raise ConfigError(f"--dims: {zero[0]} is not a width; give each modality 1 or more")
    dataset = synthetic_dataset(name, seed=seed, num_dialogues=dialogues, dims=widths)
    folders = {m: f"{m}-{d}-UTT" for m, d in dataset.modality_dims.items()}
    folder = write_gcnet_layout(dataset, out, GCNET_NAMES[name], folders)
    pairs = ",".join(f"{m}={f}" for m, f in folders.items())
    typer.echo(
        f"wrote {len(dataset)} conversations to {folder}\n"
        f"train on it: iteach-app train --data {folder} --dataset {GCNET_NAMES[name]} "
        f"--features {pairs}"
    )
