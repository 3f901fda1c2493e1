"""`CheckpointSaver`: the one owner of a run's two checkpoints, ``last`` (model, optimizer and
training state: enough to resume exactly) and ``best`` (the selected model's weights with the
epoch and metric that selected it). Files go through `RunFolder` (atomic writes, checked on
reading against the run's config hash and the model's tensor names and shapes).

The training state a resume reads from ``last`` is checked field by field: an out-of-range or
non-finite field (epoch=-3, step NaN) is refused naming the file and the field, never retrained.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from iteach_app.config import TrainConfig
from iteach_app.training.checkpoint import CheckpointError, restore_model, restore_optimizer
from iteach_app.training.run_folder import RunFolder


class CheckpointSaver:
    """Saves and restores ``folder``'s last and best checkpoints for a run of ``config``."""

    def __init__(self, folder: RunFolder, config: TrainConfig) -> None:
        self.folder, self.config = folder, config

    def has(self, which: str) -> bool:
        """True when the "last" or "best" checkpoint file exists."""
        return (self.folder.last if which == "last" else self.folder.best).is_file()

    def save_last(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
    ) -> None:
        """checkpoints/last: model, optimizer and the training state (TrainState fields)."""
        self.folder.save(
            "last",
            model.state_dict(),
            self.config,
            optimizer_state=optimizer.state_dict(),
            state=state,
        )

    def save_best(self, model: nn.Module, epoch: int | None, metric: float | None) -> None:
        """checkpoints/best: the selected model's weights, with the epoch and metric."""
        state = {"epoch": epoch, "metric": metric}
        self.folder.save("best", model.state_dict(), self.config, state=state)

    def restore(self, model: nn.Module, which: str = "best") -> None:
        """Load the "best" (or "last") checkpoint's weights into ``model``, validated."""
        restore_model(model, self.folder.load(which, self.config, model.state_dict()))

    def resume(
        self, model: nn.Module, optimizer: torch.optim.Optimizer
    ) -> tuple[dict[str, Any], Path]:
        """Restore model and optimizer from "last"; its checked training state and its path."""
        checkpoint = self.folder.load("last", self.config, model.state_dict())
        restore_model(model, checkpoint)
        restore_optimizer(optimizer, checkpoint)
        check_resume_state(checkpoint.path, checkpoint.state, self.config.epochs)
        return checkpoint.state, checkpoint.path


def check_resume_state(path: Path, state: dict[str, Any], epochs: int) -> None:
    """Raise CheckpointError unless ``state`` (TrainState fields) is one a run of ``epochs``
    epochs can have written: counters whole and in range, sums and best metric finite."""

    def fault(field: str, why: str) -> CheckpointError:
        return CheckpointError(f"{path}: training state {field}={state.get(field)!r} {why}")

    for name, top in (("epoch", epochs), ("step", None), ("global_step", None)):
        value = state.get(name, 0)
        if not _whole(value):
            raise fault(name, "is not a whole number")
        if value < 0 or (top is not None and value > top):
            raise fault(name, f"is out of range (0..{top if top is not None else 'any'})")
    if state.get("step", 0) > state.get("global_step", 0):
        raise fault("step", f"exceeds global_step={state.get('global_step')!r}")
    sums = state.get("sums", {})
    if not isinstance(sums, dict) or not all(_finite(v) for v in sums.values()):
        raise fault("sums", "is not a mapping of finite numbers")
    best = state.get("best_metric")
    if best is not None and not _finite(best):
        raise fault("best_metric", "is not a finite number")
    best_epoch = state.get("best_epoch")
    if best_epoch is not None and (not _whole(best_epoch) or not 1 <= best_epoch <= epochs):
        raise fault("best_epoch", f"is not an epoch in 1..{epochs}")
    history = state.get("history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise fault("history", "is not a list of epoch records")
    if len(history) > state.get("epoch", 0) + 1:
        raise CheckpointError(
            f"{path}: training state holds {len(history)} epoch records for epoch "
            f"{state.get('epoch')!r}"
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
