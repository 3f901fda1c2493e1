"""`iteach-app sweep ime|fig8 [options]`: the paper's IME (Table 5) or Figure 8 protocol for any
model; one run folder per training rate, then one table and one plot. `iteach-app sweep grid
SWEEP.toml` (commands/grid.py) runs a grid of settings from a file."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from iteach_app.commands.options import config_options
from iteach_app.config import load_toml, resolve


def protocol_command(protocol: str) -> Any:
    """The `sweep ime` or `sweep fig8` command: `sweep` with its protocol fixed."""

    def command(**kwargs: Any) -> None:
        sweep(protocol, **kwargs)

    command.__signature__ = inspect.signature(_options)  # type: ignore[attr-defined]
    command.__annotations__ = dict(_options.__annotations__)
    command.__doc__ = PROTOCOL_HELP[protocol]
    return config_options()(command)


PROTOCOL_HELP = {
    "ime": "IME (Table 5): train one model per rate of --eval-rates, test each at its own rate.",
    "fig8": "Figure 8: train one model at missing rate 0.7 only, test it at every rate.",
}


def _options(
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config; options given here override its values"),
    ] = None,
    fold: Annotated[int | None, typer.Option(help="IEMOCAP test session")] = None,
    seed: Annotated[int | None, typer.Option(help="seed")] = None,
    out: Annotated[Path, typer.Option(help="folder that holds the sweep folder")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="sweep folder name (default: derived)")] = None,
    resume: Annotated[bool, typer.Option(help="continue the sweep's unfinished runs")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress")] = False,
    *,
    overrides: dict[str, Any],
) -> None:
    """The options of `sweep ime` / `sweep fig8` (the signature their commands take)."""


def sweep(
    protocol: str,
    config_file: Path | None = None,
    fold: int | None = None,
    seed: int | None = None,
    out: Path = Path("runs"),
    name: str | None = None,
    resume: bool = False,
    quiet: bool = False,
    *,
    overrides: dict[str, Any],
) -> None:
    """Train one model per training rate (ime) or at 0.7 alone (fig8); table + plot."""
    from iteach_app.data_paths import absolute_paths
    from iteach_app.io import atomic_write_text
    from iteach_app.report.audit_cache import audit_lines
    from iteach_app.report.labels import figure_title
    from iteach_app.training.framework import model_label
    from iteach_app.training.protocols import run_protocol
    from iteach_app.training.run_folder import run_name
    from missing_modality import plot_ume

    file_values = load_toml(config_file) if config_file is not None else {}
    given = {**overrides, "fold": fold, "seed": seed}
    config = absolute_paths(resolve(file_values, given, source=str(config_file or "options")))
    folder = out / (name or f"{run_name(config)}-{protocol}")
    result, runs = run_protocol(
        config,
        protocol,
        folder,
        resume=resume,
        verbose=not quiet,
        title=figure_title(config),
        audit=audit_lines,
    )
    label = f"{model_label(config, short=True)} {protocol.upper()} on {config.dataset_label}"
    what = "each model tested at its own training rate" if protocol == "ime" else (
        "trained at missing rate 0.7 only, tested at every rate"
    )  # fmt: skip
    text = f"# {label}\n\n{what}; model selected on the {config.select_on} split.\n\n"
    text += result.to_markdown()
    atomic_write_text(folder / f"{protocol}.md", text)
    atomic_write_text(folder / f"{protocol}.csv", f"# {label}; {what}\n{result.to_csv()}")
    atomic_write_text(folder / f"{protocol}.json", result.to_json() + "\n")
    plot_ume({label: result}, folder / f"{protocol}.png", title=what)
    typer.echo(text)
    typer.echo(f"runs: {', '.join(str(p) for p in runs.values())}\nwritten: {folder}/{protocol}.*")
