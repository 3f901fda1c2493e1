"""`iteach-app predict RUN --conversations TABLE --features ...`: a run's selected student on new
conversations; per-utterance predictions to JSONL or CSV and a summary table on the console."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def predict(
    run: Annotated[Path, typer.Argument(help="a run folder written by `iteach-app train`")],
    conversations: Annotated[
        Path, typer.Option(help="utterance table (.csv / .jsonl); labels optional")
    ],
    features: Annotated[
        str,
        typer.Option(
            help="modality=PATH pairs (an .npz or a folder of .npy); a run modality left out, "
            "or an utterance without an array, is absent"
        ),
    ],
    out: Annotated[Path | None, typer.Option(help="write predictions here: .jsonl or .csv")] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", "-b", min=1, help="conversations per batch (default: run's)"),
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N or auto")] = None,
    overwrite: Annotated[
        bool, typer.Option(help="replace an existing --out file (never one in a run folder)")
    ] = False,
) -> None:
    """Predict every utterance of new conversations with the run's selected (best) student."""
    from iteach_app.config import parse_pairs
    from iteach_app.output_guard import check_output_file
    from iteach_app.prediction import (
        load_new_conversations,
        parse_output,
        predict_conversations,
        write_predictions,
    )
    from iteach_app.training.evaluation import load_trained

    if out is not None:
        parse_output(out)
        check_output_file(out, overwrite=overwrite)
    pairs = parse_pairs(features, "--features")
    config, data, model, target = load_trained(run, device=device or "auto")
    dataset = load_new_conversations(conversations, pairs, config, data)
    predictions = predict_conversations(
        model.student,
        dataset,
        task=data.task,
        run_dims=data.modality_dims,
        class_names=list(config.labels) or list(data.dataset.label_names),
        batch_size=batch_size or config.batch_size,
        device=target,
    )
    if out is not None:
        write_predictions(predictions, out)
    _summary(predictions, run, conversations, out)


def _summary(predictions, run: Path, table: Path, out: Path | None) -> None:
    """Utterances, modalities present / absent, predicted classes and, with labels, quality."""
    console = Console(soft_wrap=True)
    n = len(predictions.utterance_ids)
    overview = Table(title=f"predict: {run} on {table}", show_header=True)
    overview.add_column("")
    overview.add_column("utterances", justify="right")
    overview.add_column("share", justify="right")
    overview.add_row("all", str(n), "100.0%")
    for m in predictions.modalities:
        absent = int((~predictions.present[m]).sum())
        overview.add_row(f"{m} absent", str(absent), f"{100 * absent / n:.1f}%")
    if predictions.task == "classification":
        counts = Counter(predictions.label_of(i) for i in range(n))
        for name, count in sorted(counts.items()):
            overview.add_row(f"predicted {name}", str(count), f"{100 * count / n:.1f}%")
    else:
        overview.add_row("mean score", f"{float(predictions.scores.mean()):.4f}", "")
    console.print(overview)
    quality = predictions.quality()
    if quality is None:
        console.print("no labels in the table: no accuracy reported")
    else:
        console.print(
            "against the table's labels: " + ", ".join(f"{k} {v:.4f}" for k, v in quality.items())
        )
    conversations = len(set(predictions.conversation_ids))
    where = f"; written to {out}" if out is not None else " (give --out to write them)"
    console.print(f"{n} utterances in {conversations} conversations{where}")
