"""`iteach-app sweep grid SWEEP.toml`: every point of a grid of settings, each a normal run folder
named by its config hash, on this machine (--jobs), a Ray cluster or Slurm; finished runs are
skipped, a failed run is retried once; then one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def grid(
    sweep_file: Annotated[Path, typer.Argument(help="sweep TOML: [base], [axes], [compare]")],
    jobs: Annotated[int, typer.Option(help="local launcher: runs at a time")] = 1,
    launcher: Annotated[
        str, typer.Option(help="where the runs execute: local, ray or slurm")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (auto: the running cluster; default: local)"),
    ] = None,
    cpus_per_run: Annotated[int, typer.Option(help="CPUs (torch threads) per run")] = 1,
    gpus_per_run: Annotated[float, typer.Option(help="GPUs per run (ray, slurm)")] = 0.0,
    slurm_partition: Annotated[str | None, typer.Option(help="Slurm partition")] = None,
    slurm_time: Annotated[int, typer.Option(help="Slurm time limit per run, minutes")] = 120,
    out: Annotated[
        Path | None, typer.Option(help="sweep folder (default: runs/<sweep file stem>)")
    ] = None,
) -> None:
    """Run a grid of settings from a sweep file; finished runs are skipped (resumable)."""
    from iteach_app.config import ConfigError
    from iteach_app.sweeps.aggregate import write_summary
    from iteach_app.sweeps.launchers import (
        LocalLauncher,
        RayLauncher,
        Resources,
        SlurmLauncher,
        require,
    )
    from iteach_app.sweeps.runner import SweepFolder, run_sweep
    from iteach_app.sweeps.spec import load_sweep

    require(launcher)
    if cpus_per_run < 1 or gpus_per_run < 0:
        raise ConfigError("--cpus-per-run must be >= 1 and --gpus-per-run >= 0")
    spec = load_sweep(sweep_file)
    folder = out or Path("runs") / sweep_file.stem
    resources = Resources(cpus_per_run, gpus_per_run)
    if launcher == "ray":
        engine = RayLauncher(address, resources)
    elif launcher == "slurm":
        engine = SlurmLauncher(
            folder / "slurm", resources, partition=slurm_partition, time_min=slurm_time
        )
    else:
        engine = LocalLauncher(jobs)
    report = run_sweep(spec, engine, folder, cpus_per_run=cpus_per_run, say=typer.echo)
    text = write_summary(spec, SweepFolder(folder.absolute()), report.planned)
    typer.echo(
        f"\n{report.planned} runs: {report.skipped} skipped (finished before), "
        f"{len(report.succeeded)} trained now, {len(report.retried)} retried, "
        f"{len(report.failed)} failed; wall {report.seconds:.0f} s\n\n{text}"
        f"written: {folder}/summary.md, {folder}/summary.json"
    )
    for outcome in report.failed:
        typer.echo(f"failed twice: {outcome.run_dir}: {outcome.error}", err=True)
    if report.failed:
        raise typer.Exit(1)
