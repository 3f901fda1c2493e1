"""Where a command may write: never over a file it did not create (unless ``--overwrite``), never
into a run folder that is not its own. `predict --out in.csv` would replace the input table,
`--out RUN/metrics.csv` a run's metrics, `plot RUN_A --out RUN_B` would put RUN_A's figures
among RUN_B's files; these checks run before any work, so a refused command has read nothing heavy
and written nothing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from iteach_app.config import ConfigError
from iteach_app.training.run_folder import RunFolder


class OutputError(ConfigError):
    """An output path would overwrite a user's file or write into a run folder; names it."""


def run_folder_holding(path: str | Path) -> Path | None:
    """The run folder (one holding config.toml and config.json) that is ``path`` or holds it."""
    here = Path(path).resolve()
    for folder in (here, *here.parents):
        run = RunFolder(folder)
        if run.config_toml.is_file() and run.config_json.is_file():
            return folder
    return None


def check_output_file(path: Path, *, overwrite: bool, option: str = "--out") -> None:
    """``path`` may be written: outside every run folder, and new unless ``overwrite``."""
    run = run_folder_holding(path.parent)
    if run is not None:
        raise OutputError(
            f"{option} {path}: inside the run folder {run}; write outside run folders"
        )
    _check_targets([path], overwrite=overwrite, option=option)


def check_output_folder(
    folder: Path,
    names: Iterable[str],
    *,
    overwrite: bool,
    option: str = "--out",
    allowed_run: Path | None = None,
) -> None:
    """Files ``names`` may be written in ``folder``: not inside a run folder (other than
    ``allowed_run``), none of them there already unless ``overwrite``."""
    run = run_folder_holding(folder)
    if run is not None and (allowed_run is None or run != Path(allowed_run).resolve()):
        raise OutputError(
            f"{option} {folder}: inside the run folder {run}, which this command does not own; "
            "write outside run folders"
        )
    _check_targets([folder / name for name in names], overwrite=overwrite, option=option)


def _check_targets(paths: list[Path], *, overwrite: bool, option: str) -> None:
    for path in paths:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise OutputError(f"{option}: {path} exists and is not a regular file; choose another")
        if path.exists() and not overwrite:
            raise OutputError(
                f"{option}: {path} already exists; pass --overwrite to replace it, or choose "
                "another path"
            )
