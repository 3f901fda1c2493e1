"""`iteach-app serve RUN`: the run's student behind an HTTP and WebSocket API and a live page."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

import typer

from iteach_app.config import ConfigError


def serve(
    run: Annotated[Path, typer.Argument(help="a run folder written by `iteach-app train`")],
    host: Annotated[
        str, typer.Option(help="address to bind; loopback unless you mean to expose it")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free)")] = 8000,
    token_file: Annotated[
        Path | None,
        typer.Option(help="a file holding a bearer token that /v1/* then requires"),
    ] = None,
    runtime: Annotated[
        Literal["torch", "onnx"],
        typer.Option(help="torch: the checkpoint; onnx: the run's `iteach-app export` file"),
    ] = "torch",
    onnx: Annotated[
        Path | None, typer.Option(help="the ONNX file (default: the run's export/student.onnx)")
    ] = None,
    device: Annotated[str, typer.Option(help="torch runtime: cpu, cuda, cuda:N")] = "cpu",
    threads: Annotated[int, typer.Option(min=1, help="CPU threads of one model call")] = 1,
    workers: Annotated[int, typer.Option(min=1, help="model calls run at once")] = 1,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="largest HTTP body or WebSocket message")
    ] = 8 * 1024 * 1024,
    max_utterances: Annotated[
        int, typer.Option(min=1, help="most utterances in one conversation")
    ] = 1000,
) -> None:
    """Serve a trained run: POST /v1/predict, WS /v1/stream, GET /v1/model, GET /health, a
    live page at /, the OpenAPI schema at /openapi.json."""
    try:
        import uvicorn

        from iteach_app.serve.app import create_app
        from iteach_app.serve.limits import Limits
        from iteach_app.serve.runtime import OnnxRuntime, TorchRuntime
    except ImportError as err:
        raise ConfigError(
            f"serve needs the serve extra ({err.name} is missing): pip install 'iteach-app[serve]'"
        ) from None
    import torch

    from iteach_app.training.run_folder import RunFolder

    token = _read_token(token_file) if token_file is not None else None
    torch.set_num_threads(threads)
    if runtime == "onnx":
        path = onnx or RunFolder(run).onnx
        if not path.is_file():
            raise ConfigError(
                f"{path}: missing; write it with `iteach-app export {run} --format onnx`"
            )
        model = OnnxRuntime(path, threads=threads)
    else:
        model = TorchRuntime(run, device=device)
    limits = Limits(max_body_bytes=max_body_bytes, max_utterances=max_utterances)
    app = create_app(model, limits=limits, token=token, workers=workers)
    if not _is_loopback(host):
        typer.echo(
            f"warning: binding {host}, reachable from other machines"
            + ("" if token else "; no --token-file, so anyone there can call it"),
            err=True,
        )
    typer.echo(f"serving {model.info.run} ({runtime}) on http://{host}:{port}/", err=True)
    uvicorn.run(
        app, host=host, port=port, ws_max_size=max_body_bytes, log_level="warning",
        timeout_graceful_shutdown=5,
    )  # fmt: skip


def _read_token(path: Path) -> str:
    token = path.read_text().strip()
    if not token or any(c.isspace() for c in token):
        raise ConfigError(f"--token-file {path}: must hold one token (no spaces), not empty")
    return token


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
