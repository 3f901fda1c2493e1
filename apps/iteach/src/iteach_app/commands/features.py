"""`iteach-app features text|audio|video|all`: a conversation table's raw text and media files to
per-utterance feature files (.npz) for --features, each with a JSON sidecar saying what made it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iteach_app.extract.errors import FeatureError

if TYPE_CHECKING:  # numpy and the extractors load inside the commands: --help stays fast
    import numpy as np

    from iteach_app.extract import Absences

app = typer.Typer(
    help="Turn raw text, audio or video of a conversation table into features for --features.",
    no_args_is_help=True,
)

TableArg = Annotated[
    Path, typer.Argument(help="utterance table (.csv or .jsonl) with an utterance_id column")
]
OutOpt = Annotated[Path, typer.Option(help=".npz to write, keyed by utterance id")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
StartOpt = Annotated[
    str | None, typer.Option(help="column of segment start times in seconds (blank: 0)")
]
EndOpt = Annotated[
    str | None, typer.Option(help="column of segment end times in seconds (blank: the end)")
]
StrictOpt = Annotated[
    bool,
    typer.Option(help="stop at the first row that gives no features (default: skip it, say why)"),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        help="sentence-transformers model folder, or a name in the local Hugging Face cache "
        "(default: the packaged all-MiniLM-L6-v2); never downloaded"
    ),
]
DeviceOpt = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N (default: GPU if any)")]
ExtractorOpt = Annotated[str, typer.Option(help="audio feature set: egemaps | librosa")]
RateOpt = Annotated[int, typer.Option(min=8000, help="audio resampled to this rate (Hz), mono")]
FpsOpt = Annotated[float, typer.Option(min=0.1, help="video frames sampled per second")]
MaxSideOpt = Annotated[
    int, typer.Option(min=64, help="frames scaled down to at most this many pixels per side")
]
UpsampleOpt = Annotated[
    int, typer.Option(min=0, max=3, help="face detector upsamplings (1 finds faces of ~40 px)")
]


def _report(out: Path, vectors: dict[str, np.ndarray], seconds: float) -> None:
    """One line saying what was written."""
    dim = next(iter(vectors.values())).shape[0]
    rate = len(vectors) / seconds if seconds > 0 else float("inf")
    typer.echo(f"wrote {len(vectors)} vectors of {dim} to {out} in {seconds:.1f} s ({rate:.1f}/s)")


def _fail(err: FeatureError) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(2)


def _write(
    out: Path, vectors: dict[str, np.ndarray], absences: Absences, total: int, **settings: object
) -> None:
    """Say each absent row, write the vectors and the sidecar, then the absence summary."""
    from iteach_app.extract import write_sidecar, write_vectors

    for line in absences.lines:
        typer.echo(f"absent: {line}", err=True)
    if not vectors:
        raise FeatureError(f"{absences.modality}: none of the {total} utterances gave features")
    write_vectors(out, vectors)
    dim = next(iter(vectors.values())).shape[0]
    write_sidecar(out, dim=dim, count=len(vectors), absences=absences, **settings)
    typer.echo(absences.summary(total), err=True)


def _text(
    table: Path,
    out: Path,
    column: str,
    model: str | None,
    batch_size: int,
    device: str | None,
    quiet: bool,
) -> dict[str, np.ndarray]:
    from iteach_app.extract import (
        embed_texts,
        load_text_model,
        read_column,
        text_model_info,
        write_sidecar,
        write_vectors,
    )

    texts = read_column(table, column)
    loaded = load_text_model(device, model)
    vectors = embed_texts(texts, batch_size=batch_size, model=loaded, show_progress=not quiet)
    write_vectors(out, vectors)
    info = text_model_info(loaded, model)
    write_sidecar(out, modality="text", count=len(vectors), table=str(table), column=column, **info)
    return vectors


@app.command("text")
def text(
    table: TableArg,
    out: OutOpt,
    column: Annotated[str, typer.Option(help="column holding each utterance's text")] = "text",
    model: ModelOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="sentences per model call")] = 64,
    device: DeviceOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Sentence embeddings (default: 384-d all-MiniLM-L6-v2, offline; the 'features' extra)."""
    start = time.perf_counter()
    try:
        vectors = _text(table, out, column, model, batch_size, device, quiet)
    except FeatureError as err:
        raise _fail(err) from None
    _report(out, vectors, time.perf_counter() - start)


def _audio(
    table: Path,
    out: Path,
    column: str,
    start_column: str | None,
    end_column: str | None,
    extractor: str,
    rate: int,
    strict: bool,
    quiet: bool,
) -> dict[str, np.ndarray]:
    from iteach_app.extract import extract_audio, read_media_rows

    rows = read_media_rows(table, column, start_column=start_column, end_column=end_column)
    vectors, absences = extract_audio(
        rows, extractor=extractor, rate=rate, strict=strict, show_progress=not quiet
    )
    _write(
        out, vectors, absences, len(rows), modality="audio", extractor=extractor, rate=rate,
        table=str(table), column=column,
    )  # fmt: skip
    return vectors


@app.command("audio")
def audio(
    table: TableArg,
    out: OutOpt,
    column: Annotated[
        str,
        typer.Option(
            help="column of media paths (wav, flac, mp3, mp4, mkv, ...), relative to the table's "
            "folder unless absolute"
        ),
    ] = "audio_path",
    start_column: StartOpt = None,
    end_column: EndOpt = None,
    extractor: ExtractorOpt = "egemaps",
    rate: RateOpt = 16000,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Audio of each [start, end) segment: 88-d eGeMAPS v02 functionals or a 95-d librosa set."""
    start = time.perf_counter()
    try:
        vectors = _audio(
            table, out, column, start_column, end_column, extractor, rate, strict, quiet
        )
    except FeatureError as err:
        raise _fail(err) from None
    _report(out, vectors, time.perf_counter() - start)


def _video(
    table: Path,
    out: Path,
    column: str,
    start_column: str | None,
    end_column: str | None,
    fps: float,
    upsample: int,
    max_side: int,
    strict: bool,
    quiet: bool,
) -> dict[str, np.ndarray]:
    from iteach_app.extract import extract_video, read_media_rows

    rows = read_media_rows(table, column, start_column=start_column, end_column=end_column)
    vectors, absences = extract_video(
        rows, fps=fps, upsample=upsample, max_side=max_side, strict=strict,
        show_progress=not quiet,
    )  # fmt: skip
    _write(
        out, vectors, absences, len(rows), modality="video", fps=fps, upsample=upsample,
        max_side=max_side,
        model="dlib HOG detector + shape_predictor_68_face_landmarks (face-recognition-models)",
        layout="mean(148), std(148), face share: 136 landmark coords + 12 expression coefficients",
        table=str(table), column=column,
    )  # fmt: skip
    return vectors


@app.command("video")
def video(
    table: TableArg,
    out: OutOpt,
    column: Annotated[
        str, typer.Option(help="column of video paths, relative to the table's folder")
    ] = "media_path",
    start_column: StartOpt = None,
    end_column: EndOpt = None,
    fps: FpsOpt = 5.0,
    upsample: UpsampleOpt = 0,
    max_side: MaxSideOpt = 640,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Face landmarks and expression coefficients, pooled per utterance (297-d).

    An utterance where no sampled frame shows a face is absent from the file (not zeros).
    """
    start = time.perf_counter()
    try:
        vectors = _video(
            table, out, column, start_column, end_column, fps, upsample, max_side, strict, quiet
        )
    except FeatureError as err:
        raise _fail(err) from None
    _report(out, vectors, time.perf_counter() - start)


@app.command("all")
def all_modalities(
    table: TableArg,
    out_dir: Annotated[Path, typer.Option(help="folder for text.npz, audio.npz, video.npz")],
    media_column: Annotated[
        str, typer.Option(help="column of media paths (audio and video come from each file)")
    ] = "media_path",
    text_column: Annotated[str, typer.Option(help="column of each utterance's text")] = "text",
    start_column: StartOpt = None,
    end_column: EndOpt = None,
    model: ModelOpt = None,
    extractor: ExtractorOpt = "egemaps",
    rate: RateOpt = 16000,
    fps: FpsOpt = 5.0,
    upsample: UpsampleOpt = 0,
    max_side: MaxSideOpt = 640,
    device: DeviceOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Text, audio and video in one pass, and the --features argument for train and predict.

    The argument is printed and written to OUT_DIR/features.txt.
    """
    from iteach_app.extract import read_column, read_media_rows
    from iteach_app.io import atomic_write_text

    paths = {m: out_dir / f"{m}.npz" for m in ("text", "audio", "video")}
    try:
        # every column is checked before the first model loads
        read_media_rows(table, media_column, start_column=start_column, end_column=end_column)
        read_column(table, text_column)
        for modality, out in paths.items():
            began = time.perf_counter()
            if modality == "text":
                vectors = _text(table, out, text_column, model, 64, device, quiet)
            elif modality == "audio":
                vectors = _audio(
                    table, out, media_column, start_column, end_column, extractor, rate, strict,
                    quiet,
                )  # fmt: skip
            else:
                vectors = _video(
                    table, out, media_column, start_column, end_column, fps, upsample, max_side,
                    strict, quiet,
                )  # fmt: skip
            _report(out, vectors, time.perf_counter() - began)
        argument = ",".join(f"{m}={p}" for m, p in paths.items())
        atomic_write_text(out_dir / "features.txt", argument + "\n")
    except FeatureError as err:
        raise _fail(err) from None
    typer.echo(f"--features {argument}")
