"""One sweep run as a plain function of plain data, so that a process pool, a Ray task or a
Slurm job (submitit) can run it: train (or resume) into the run's folder, never raise, return
what happened."""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iteach_app.config import TrainConfig
from iteach_app.training.run_folder import RunFolder


@dataclass(frozen=True)
class RunTask:
    """A run to train: its config (``threads`` set to the CPUs it was given), its folder, the
    axis values that made it and the attempt number (1, or 2 for the retry)."""

    config: TrainConfig
    run_dir: str
    values: dict[str, Any]
    attempt: int = 1

    @property
    def config_hash(self) -> str:
        return self.config.config_hash()


@dataclass(frozen=True)
class RunOutcome:
    """How one attempt went: ``ok``, wall seconds, and on failure the error and traceback tail."""

    config_hash: str
    run_dir: str
    attempt: int
    ok: bool
    seconds: float
    error: str = ""
    traceback: str = ""
    best_epoch: int | None = None


def train_run(config: TrainConfig, run_dir: Path) -> int | None:
    """Train (or resume) the run; the best epoch. A folder left unresumable by a process killed
    between writing an epoch's metrics and its checkpoint is set aside (renamed, not deleted)."""
    from iteach_app.report.labels import figure_title
    from iteach_app.training.trainer import Trainer

    folder = RunFolder(run_dir)
    if folder.unresumable():
        index = 1
        while folder.path.with_name(f"{folder.name}.unfinished-{index}").exists():
            index += 1
        folder.path.rename(folder.path.with_name(f"{folder.name}.unfinished-{index}"))
    trainer = Trainer(config, run_dir, resume=True, verbose=False, title=figure_title(config))
    return trainer.fit().best_epoch


def run_task(task: RunTask) -> RunOutcome:
    """Run ``task`` in this process (one torch thread per CPU given); failures are returned."""
    import torch

    started = time.perf_counter()
    if task.config.threads is not None:
        torch.set_num_threads(task.config.threads)
    try:
        best = train_run(task.config, Path(task.run_dir))
    except Exception as err:  # every failure is reported, the sweep goes on
        return failure(task, err, time.perf_counter() - started, traceback.format_exc())
    seconds = time.perf_counter() - started
    return RunOutcome(task.config_hash, task.run_dir, task.attempt, True, seconds, best_epoch=best)


def failure(task: RunTask, err: BaseException, seconds: float = 0.0, trace: str = "") -> RunOutcome:
    """The outcome of an attempt that raised ``err`` (in the run or in the launcher)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return RunOutcome(
        task.config_hash,
        task.run_dir,
        task.attempt,
        False,
        seconds,
        error=f"{type(err).__name__}: {text}",
        traceback=trace[-2000:],
    )


def with_threads(config: TrainConfig, cpus: int) -> TrainConfig:
    """The config with ``threads = cpus`` (not hashed: the run stays the same run)."""
    return dataclasses.replace(config, threads=cpus)
