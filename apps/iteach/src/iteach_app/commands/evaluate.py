"""`iteach-app evaluate RUN`: UME of a finished run's best student on one split."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Split(str, Enum):
    """A split of the run's data."""

    train = "train"
    val = "val"
    test = "test"


def evaluate(
    run: Annotated[Path, typer.Argument(help="a run folder written by `iteach-app train`")],
    split: Annotated[Split, typer.Option(help="split to evaluate")] = Split.test,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N or auto")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", "-b", min=1, help="conversations per batch (default: the run's)"
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """UME over the run's missing rates for its best student; same numbers every time."""
    from rich.console import Console

    from iteach_app.training.evaluation import evaluate_run
    from iteach_app.training.run_folder import SELECTION_METRIC, protocol_note

    console = Console(stderr=True, quiet=quiet)
    with console.status(f"loading {run} and evaluating the {split.value} split at every rate"):
        config, result = evaluate_run(
            run, device=device or "auto", split=split.value, batch_size=batch_size
        )
    note = protocol_note(config)
    if as_json:
        payload = {
            **result.to_dict(),
            "run": str(run),
            "split": split.value,
            "selection_note": note,
            **({"classes": config.labels} if config.labels else {}),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    key = SELECTION_METRIC[result.task]
    classes = f"classes: {', '.join(config.labels)}\n" if config.labels else ""
    typer.echo(
        f"UME on the {split.value} split: {run} ({note})\n{classes}{result.to_markdown()}"
        f"{key} average {result.average[key]:.4f}, decline {result.decline[key]:.4f}"
    )
