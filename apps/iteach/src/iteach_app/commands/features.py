"""`iteach-app features text|audio`: raw text or wav files of a conversation table to an .npz."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iteach_app.extract.errors import FeatureError

if TYPE_CHECKING:
    import numpy as np

app = typer.Typer(
    help="Turn raw text or audio of a conversation table into features for --features.",
    no_args_is_help=True,
)

TableArg = Annotated[
    Path, typer.Argument(help="utterance table (.csv or .jsonl) with an utterance_id column")
]
OutOpt = Annotated[Path, typer.Option(help=".npz to write, keyed by utterance id")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]


def _report(out: Path, vectors: dict[str, np.ndarray], seconds: float) -> None:
    """One line saying what was written."""
    dim = next(iter(vectors.values())).shape[0]
    rate = len(vectors) / seconds if seconds > 0 else float("inf")
    typer.echo(f"wrote {len(vectors)} vectors of {dim} to {out} in {seconds:.1f} s ({rate:.1f}/s)")


@app.command("text")
def text(
    table: TableArg,
    out: OutOpt,
    column: Annotated[str, typer.Option(help="column holding each utterance's text")] = "text",
    batch_size: Annotated[int, typer.Option(min=1, help="sentences per model call")] = 64,
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, cuda:N (default: GPU if any)")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """384-d all-MiniLM-L6-v2 sentence embeddings (offline model, the 'features' extra)."""
    from iteach_app.extract import embed_texts, read_column, write_vectors

    try:
        start = time.perf_counter()
        texts = read_column(table, column)
        vectors = embed_texts(texts, batch_size=batch_size, device=device, show_progress=not quiet)
        write_vectors(out, vectors)
    except FeatureError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    _report(out, vectors, time.perf_counter() - start)


@app.command("audio")
def audio(
    table: TableArg,
    out: OutOpt,
    column: Annotated[
        str,
        typer.Option(help="column of wav paths, relative to the table's folder unless absolute"),
    ] = "audio_path",
    quiet: QuietOpt = False,
) -> None:
    """88-d openSMILE eGeMAPS v02 functionals per wav file (the 'features' extra)."""
    from iteach_app.extract import extract_egemaps, read_paths, write_vectors

    try:
        start = time.perf_counter()
        vectors = extract_egemaps(read_paths(table, column), show_progress=not quiet)
        write_vectors(out, vectors)
    except FeatureError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    _report(out, vectors, time.perf_counter() - start)
