"""`iteach-app train`: one run per (fold, seed); options come from the config schema."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from iteach_app.commands.options import config_options
from iteach_app.config import ConfigError, load_toml, resolve
from iteach_app.config.schema import UNHASHED

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or epoch lines")]


@config_options()
def train(
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config; options given here override its values"),
    ] = None,
    fold: Annotated[
        str | None, typer.Option(help="IEMOCAP test session(s): 5, 1,2,3 or all")
    ] = None,
    seed: Annotated[str | None, typer.Option(help="seed(s): 0 or 0,1,2 (one run each)")] = None,
    out: Annotated[Path, typer.Option(help="folder that holds the run folders")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="run folder name (default: derived)")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue this interrupted run from its last checkpoint")
    ] = None,
    quiet: QuietOpt = False,
    *,
    overrides: dict[str, Any],
) -> None:
    """Train ITEACH-Net (or the TS / PRE ablations) and report the UME table on the test split."""
    from iteach_app.data_paths import absolute_paths
    from iteach_app.training import distributed
    from iteach_app.training.preflight import check_run_name
    from iteach_app.training.run_folder import RunFolder, run_dir_for
    from iteach_app.training.sweep import expand, parse_int_list, summary_table

    if name is not None:
        check_run_name(name)
    info = distributed.detect()
    if resume is not None:
        given = [
            "--" + k.replace("_", "-")
            for k, v in overrides.items()
            if v is not None and k not in UNHASHED
        ]
        extra = (("--config", config_file), ("--fold", fold), ("--seed", seed), ("--name", name))
        given += [flag for flag, value in extra if value is not None]
        extend = "; a run is not extended: train a new run with more --epochs"
        extend = extend if "--epochs" in given else ""
        if given:
            raise ConfigError(
                f"--resume continues {resume} with its own config.toml; drop "
                f"{', '.join(given)} (only --device and --threads apply"
                + (
                    "; a run is not extended: train a new run with more --epochs)"
                    if "--epochs" in given
                    else ")"
                )
            )
        config = RunFolder(resume).read_config()
        changes = {k: overrides[k] for k in UNHASHED if overrides.get(k) is not None}
        if changes:
            config = resolve(config.to_dict(), changes, source=str(resume))
        jobs = [(config, resume, True)]
    else:
        file_values = load_toml(config_file) if config_file is not None else {}
        folds = parse_int_list(fold, "fold", all_values=(1, 2, 3, 4, 5))
        seeds = parse_int_list(seed, "seed")
        overrides = {
            **overrides,
            "fold": folds[0] if folds else None,
            "seed": seeds[0] if seeds else None,
        }
        source = str(config_file) if config_file is not None else "options"
        config = absolute_paths(resolve(file_values, overrides, source=source))
        configs = expand(config, folds, seeds)
        jobs = [(c, run_dir_for(c, out, name, len(configs) > 1), False) for c in configs]
    results = _train_jobs(jobs, info, quiet)
    if len(results) > 1 and info.is_main:
        typer.echo("\nSummary\n" + summary_table(results))


def _train_jobs(jobs: list, info: Any, quiet: bool) -> dict:
    from iteach_app.report.audit_cache import audit_lines
    from iteach_app.report.labels import figure_title
    from iteach_app.training import distributed
    from iteach_app.training.run_folder import protocol_note
    from iteach_app.training.trainer import Trainer

    results = {}
    if info.is_main:
        check_folders_first(jobs)
    device = distributed.device_for(jobs[0][0].device, info)
    distributed.init(info, device)
    console = Console(stderr=True, soft_wrap=True)
    try:
        for config, run_dir, resume in jobs:
            run_dir = Path(run_dir)
            try:
                trainer = Trainer(
                    config,
                    run_dir,
                    resume=resume,
                    dist_info=info,
                    verbose=not quiet,
                    console=console,
                    title=figure_title(config),
                    audit=audit_lines,
                )
                outcome = trainer.fit()
            except KeyboardInterrupt:
                if info.is_main:
                    typer.echo(interrupted_message(run_dir), err=True)
                raise typer.Exit(130) from None
            if info.is_main and outcome.ume is not None:
                results[run_dir.name] = outcome.ume
                typer.echo(
                    f"\nUME on the test split: {run_dir.name} "
                    f"({protocol_note(config)}; best epoch {outcome.best_epoch})\n"
                    f"{outcome.ume.to_markdown()}run folder: {run_dir}"
                )
    finally:
        distributed.shutdown(info)
    return results


def interrupted_message(run_dir: Path) -> str:
    """What Ctrl-C leaves: a run folder to resume (with the command), or nothing written yet."""
    from iteach_app.training.run_folder import RunFolder

    if not RunFolder(run_dir).config_toml.is_file():
        return f"interrupted before {run_dir} was written; nothing to resume"
    return (
        f"interrupted; {run_dir} is resumable: iteach-app train --resume "
        f"{shlex.quote(str(run_dir))}"
    )


def check_folders_first(jobs: list) -> None:
    """Refuse, before the first run trains, a later run whose folder is shared or taken (so
    `--seed 0,0` or a taken seed folder fails at once, not after hours of the runs before it)."""
    from iteach_app.training.run_folder import RunFolder

    seen: set[Path] = set()
    for config, run_dir, resume in jobs:
        where = Path(run_dir).resolve()
        if where in seen:
            raise ConfigError(f"two runs would train into {run_dir}; give each its own --name")
        seen.add(where)
        if not resume:
            RunFolder(run_dir).check_can_train(config, resume=False)
