"""`iteach-app predict RUN --conversations TABLE --features ...`: a run's selected student on new
conversations; per-utterance predictions to JSONL or CSV and a summary table on the console.
`iteach-app predict RUN --stream` (or `--follow FILE`): utterances as JSON lines, each predicted
as it arrives (streaming/jsonl.py)."""

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
        Path | None, typer.Option(help="utterance table (.csv / .jsonl); labels optional")
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="modality=PATH pairs (an .npz or a folder of .npy); a run modality left out, "
            "or an utterance without an array, is absent"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write predictions here: .jsonl or .csv")] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", "-b", min=1, help="conversations per batch (default: run's)"),
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N or auto")] = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="real time: read utterances as JSON lines on standard input, write each "
            "prediction as a JSON line as it arrives (see the README's Real-time use)",
        ),
    ] = False,
    follow: Annotated[
        Path | None,
        typer.Option(help="like --stream, but read the lines of this growing file (tail -f)"),
    ] = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(min=0, help="with --follow: stop after this many seconds without a new line"),
    ] = None,
) -> None:
    """Predict every utterance of new conversations with the run's selected (best) student."""
    from iteach_app.config import ConfigError

    if stream or follow is not None:
        _stream(run, follow, idle_exit, conversations, features, out, device)
        return
    if conversations is None or features is None:
        raise ConfigError(
            "predict needs --conversations TABLE and --features modality=PATH (or --stream / "
            "--follow FILE for utterances as JSON lines)"
        )
    from iteach_app.config import parse_pairs
    from iteach_app.prediction import (
        load_new_conversations,
        parse_output,
        predict_conversations,
        write_predictions,
    )
    from iteach_app.training.evaluation import load_trained

    if out is not None:
        parse_output(out)
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


def _stream(
    run: Path,
    follow: Path | None,
    idle_exit: float | None,
    conversations: Path | None,
    features: str | None,
    out: Path | None,
    device: str | None,
) -> None:
    """predict --stream / --follow: JSON lines in, a JSON line per utterance out, summary last."""
    import sys

    from iteach_app.config import ConfigError
    from iteach_app.streaming import StreamingPredictor
    from iteach_app.streaming.jsonl import follow as follow_file
    from iteach_app.streaming.jsonl import read_lines, run_stream

    given = [name for name, v in (("--conversations", conversations), ("--features", features),
             ("--out", out)) if v is not None]  # fmt: skip
    if given:
        raise ConfigError(
            f"--stream reads JSON lines and writes to standard output; drop {given[0]}"
        )
    if idle_exit is not None and follow is None:
        raise ConfigError("--idle-exit applies to --follow FILE only")
    if follow is not None and not follow.is_file():
        raise ConfigError(f"--follow {follow}: no such file")
    predictor = StreamingPredictor.from_run(run, device=device or "auto")
    if not predictor.incremental:
        print(
            f"note: {predictor.fallback_reason}; each prediction re-runs the model on the "
            "conversation so far (it cannot see later utterances, unlike offline predict)",
            file=sys.stderr,
        )
    lines = (
        follow_file(follow, idle_exit=idle_exit) if follow is not None else read_lines(sys.stdin)
    )
    summary = run_stream(predictor, lines, sys.stdout, sys.stderr)
    print(summary.line(), file=sys.stderr)


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
