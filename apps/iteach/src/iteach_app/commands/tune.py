"""`iteach-app tune SWEEP.toml`: an Optuna study (TPE, median pruning) over the file's [search]
space on the validation score; resumable from its SQLite database; writes best.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def tune(
    sweep_file: Annotated[Path, typer.Argument(help="sweep TOML with [base] and [search]")],
    trials: Annotated[int, typer.Option(help="trials completed or pruned in the study")] = 20,
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL (default: sqlite:///OUT/study.db)"),
    ] = None,
    study_name: Annotated[
        str | None, typer.Option(help="study name (default: the file's stem)")
    ] = None,
    seed: Annotated[int, typer.Option(help="sampler seed")] = 0,
    cpus_per_run: Annotated[int, typer.Option(help="CPUs (torch threads) per trial")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="study folder (default: runs/tune-<file stem>)")
    ] = None,
) -> None:
    """Tune the [search] settings on the validation split; the best config as a TOML."""
    from iteach_app.sweeps.spec import load_sweep
    from iteach_app.sweeps.tune import require_optuna, tune

    require_optuna()
    spec = load_sweep(sweep_file, need_axes=False)
    if spec.axes:
        typer.echo(f"note: tune ignores [axes] of {sweep_file}; it tunes [search] on [base]")
    folder = out or Path("runs") / f"tune-{sweep_file.stem}"
    result = tune(
        spec,
        folder,
        trials=trials,
        storage=storage,
        study_name=study_name,
        seed=seed,
        cpus_per_run=cpus_per_run,
        say=typer.echo,
    )
    best = result.study.best_trial
    typer.echo(
        f"\nbest trial {best.number}: validation {best.value:.4f} with {best.params}\n"
        f"written: {result.best_path} (iteach-app train --config {result.best_path}), "
        f"{folder}/trials.md"
    )
