"""`iteach-app export RUN --format onnx`: the run's student as a file another runtime can serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from iteach_app.config import ConfigError


def export(
    run: Annotated[Path, typer.Argument(help="a run folder written by `iteach-app train`")],
    format: Annotated[
        Literal["onnx"], typer.Option("--format", help="onnx: an ONNX graph for onnxruntime")
    ] = "onnx",
    out: Annotated[
        Path | None, typer.Option(help="the file to write (default: the run's export/student.onnx)")
    ] = None,
) -> None:
    """Export the run's selected (best) student: dynamic conversation length, any modalities
    missing (the present mask is an input); `iteach-app serve RUN --runtime onnx` serves it."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            f"export needs the serve extra ({err.name} is missing): pip install 'iteach-app[serve]'"
        ) from None
    from iteach_app.export.onnx import export_student
    from iteach_app.serve.runtime import TorchRuntime
    from iteach_app.training.run_folder import RunFolder

    runtime = TorchRuntime(run, device="cpu")
    target = out or RunFolder(run).onnx
    info = runtime.info.to_dict()
    info.pop("runtime")
    export_student(runtime.student, runtime.info.modalities, target, info)
    typer.echo(f"wrote {target} ({format}, config {runtime.info.config_hash})")
