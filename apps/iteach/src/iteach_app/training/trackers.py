"""Experiment trackers (``report_to``: tensorboard, mlflow or wandb) as training callbacks.

Each tracker receives the same values under the same names: per optimiser step ``train/loss``,
``train/distill_loss``, ``train/lr`` and ``train/grad_norm`` (the global gradient norm after any
clipping); per epoch every numeric value of the epoch record (``val/waf_avg``, ``val/waf@0.7``,
``time/seconds``, ``time/eval_seconds``, ...); and the run's config as hyperparameters. Only the
process that writes the run folder (rank 0) reports. Each tracker's package is imported only when
that tracker is asked for; a missing one names the extra that installs it.
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any

import torch

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.training.callbacks import current_lr
from iteach_app.training.loop import Callback, TrainLoop
from iteach_app.training.run_folder import RunFolder

TRACKER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
STEP_KEYS = ("loss", "distill_loss", "task_loss")


def require_tracker(name: str) -> None:
    """Fail early, naming the extra, when the package of tracker ``name`` is missing."""
    if name == "none":
        return
    package = TRACKER_PACKAGES[name]
    try:
        importlib.import_module(package)
    except ImportError:
        raise ConfigError(
            f"report_to = {name} needs the {package} package: pip install 'iteach-app[{name}]'"
        ) from None


def gradient_norm(model: torch.nn.Module) -> float:
    """The global L2 norm of the parameters' gradients (0 when none has one)."""
    norms = [p.grad.detach().float().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def step_values(loop: TrainLoop) -> dict[str, float]:
    """What a tracker logs after one optimiser step."""
    logs = loop.last_step.logs if loop.last_step is not None else {}
    values = {f"train/{key}": logs[key] for key in STEP_KEYS if key in logs}
    values["train/lr"] = current_lr(loop)
    values["train/grad_norm"] = gradient_norm(loop.model)
    if loop.last_step is not None:
        values["train/missing_rate"] = loop.last_step.rate
    return values


def epoch_values(record: dict[str, Any]) -> dict[str, float]:
    """The epoch record's numbers, grouped: ``train/...``, ``val/...`` (or ``test/...`` under
    the paper's protocol), ``time/...``; NaN and non-numeric values are left out."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            continue
        if key in ("seconds", "eval_seconds"):
            name = f"time/{key}"
        elif key.startswith(("train_", "val_", "test_")):
            split, _, rest = key.partition("_")
            name = f"{split}_epoch/{rest}" if split == "train" else f"{split}/{rest}"
        else:
            name = f"epoch/{key}"
        out[name] = float(value)
    return out


def hyperparameters(config: TrainConfig) -> dict[str, Any]:
    """The config as flat scalar hyperparameters (lists and dicts as text) plus its hash."""
    flat: dict[str, Any] = {"config_hash": config.config_hash()}
    for key, value in config.to_dict().items():
        if value is None or isinstance(value, (bool, int, float, str)):
            flat[key] = "none" if value is None else value
        else:
            flat[key] = str(value)
    return flat


class Tracker(Callback):
    """Common events; a subclass implements ``start``, ``log`` and ``finish``."""

    def __init__(self, folder: RunFolder, config: TrainConfig, name: str) -> None:
        self.folder, self.config, self.name = folder, config, name

    def start(self) -> None:
        raise NotImplementedError

    def log(self, values: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def on_train_begin(self, loop: TrainLoop) -> None:
        if loop.dist.is_main:
            self.start()

    def on_step_end(self, loop: TrainLoop) -> None:
        if loop.dist.is_main:
            self.log(step_values(loop), loop.state.global_step)

    def on_epoch_end(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        self.log(epoch_values(record), loop.state.global_step)

    def on_train_end(self, loop: TrainLoop) -> None:
        if loop.dist.is_main:
            self.finish()


class TensorBoardTracker(Tracker):
    """Event files in the run folder's tracking/ (``tensorboard --logdir RUN/tracking``)."""

    def start(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.folder.tracking))
        text = "\n".join(f"    {k} = {v!r}" for k, v in hyperparameters(self.config).items())
        self.writer.add_text("config", text, 0)

    def log(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def finish(self) -> None:
        self.writer.close()


class MLflowTracker(Tracker):
    """An MLflow run named after the run folder, in ``MLFLOW_TRACKING_URI`` when set (a server,
    a database, or a ``file:`` store with ``MLFLOW_ALLOW_FILE_STORE=true``), else in a SQLite
    database in the run folder's tracking/ (MLflow's file store is in maintenance mode);
    experiment ``MLFLOW_EXPERIMENT_NAME`` or ``iteach-app``."""

    def start(self) -> None:
        import mlflow

        self.mlflow = mlflow
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            self.folder.tracking.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{self.folder.mlflow_db.resolve()}"
        mlflow.set_tracking_uri(uri)  # each run its own: a process may train several
        if mlflow.active_run() is not None:  # left open by a run stopped by an exception
            mlflow.end_run(status="KILLED")
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "iteach-app"))
        self.run = mlflow.start_run(run_name=self.name)
        mlflow.log_params(hyperparameters(self.config))

    def log(self, values: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics({k.replace("@", "_at_"): v for k, v in values.items()}, step=step)

    def finish(self) -> None:
        self.mlflow.end_run()


class WandbTracker(Tracker):
    """A Weights & Biases run (project ``WANDB_PROJECT`` or ``iteach-app``; ``WANDB_MODE=offline``
    keeps it on disk), its files under the run folder's tracking/."""

    def start(self) -> None:
        import wandb

        self.folder.tracking.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "iteach-app"),
            name=self.name,
            config=hyperparameters(self.config),
            dir=str(self.folder.tracking),
        )

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def finish(self) -> None:
        self.run.finish()


TRACKERS: dict[str, type[Tracker]] = {
    "tensorboard": TensorBoardTracker,
    "mlflow": MLflowTracker,
    "wandb": WandbTracker,
}


def tracker_callbacks(config: TrainConfig, folder: RunFolder, name: str) -> list[Callback]:
    """The callback of ``config.report_to`` (none: no callback)."""
    if config.report_to == "none":
        return []
    require_tracker(config.report_to)
    return [TRACKERS[config.report_to](folder, config, name)]
