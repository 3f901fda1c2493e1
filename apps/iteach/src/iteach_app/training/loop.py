"""The training loop: owns the state, runs epochs and steps, fires events; writes no files.

Determinism: the per-epoch order of the training conversations comes from (seed, epoch); every
step seeds torch's global RNG (dropout) and its own mask generator from (seed, epoch, step,
rank). A resumed loop starts from a restored `TrainState` and skips the batches already done.
The epoch's phase (pre-training, teacher frozen: phases.py) is state the loop holds and reads,
decided from the epoch by the run's `PhasePlan`. Selection, checkpoints, metrics files and
progress are callbacks (callbacks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from iteach_app.config import TrainConfig
from iteach_app.data import DataBundle, collate
from iteach_app.training import distributed
from iteach_app.training.distributed import DistInfo
from iteach_app.training.optim import Criterion, LambdaLR, LRSchedule
from iteach_app.training.phases import Phase, PhasePlan, enter_phase, pretrain_step
from iteach_app.training.plans import epoch_batches
from iteach_app.training.step import StepResult, autocast, run_step
from its_distill import InvertedTeacherStudent
from missing_modality import ModalityMasker, Schedule


@dataclass
class TrainState:
    """Where training stands: epoch in progress, batches done in it, running sums, best so far."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    best_metric: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


class Callback:
    """Events of the loop; override the ones you need. Only rank 0 sees on_evaluate and
    on_epoch_end; on_epoch_closed follows the state's move to the next epoch. Per epoch:
    on_epoch_begin (the epoch's phase entered), on_step_end per step, on_evaluate (the record
    holds the train averages and the phase's fields), on_epoch_end, on_epoch_closed."""

    def on_train_begin(self, loop: TrainLoop) -> None: ...
    def on_epoch_begin(self, loop: TrainLoop) -> None: ...
    def on_step_end(self, loop: TrainLoop) -> None: ...
    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None: ...
    def on_epoch_end(self, loop: TrainLoop, record: dict[str, Any]) -> None: ...
    def on_epoch_closed(self, loop: TrainLoop) -> None: ...
    def on_train_end(self, loop: TrainLoop) -> None: ...


class TrainLoop:
    """ITS training of ``model`` (run through ``network``, its DDP wrapper when distributed)."""

    def __init__(
        self,
        model: InvertedTeacherStudent,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        config: TrainConfig,
        data: DataBundle,
        masker: ModalityMasker,
        schedule: Schedule,
        device: torch.device,
        dist: DistInfo,
        state: TrainState,
        callbacks: Sequence[Callback] = (),
        lr_schedule: LRSchedule | None = None,
        criterion: Criterion | None = None,
        phases: PhasePlan | None = None,
    ) -> None:
        self.model, self.network, self.optimizer = model, network, optimizer
        self.config, self.data, self.masker, self.schedule = config, data, masker, schedule
        self.device, self.dist, self.state = device, dist, state
        self.callbacks = list(callbacks)
        self.lr_schedule, self.criterion = lr_schedule, criterion
        self.lr_scheduler: LambdaLR | None = None
        self.num_batches = 0
        self.phases = phases or PhasePlan()
        self.phase: Phase = self.phases.at(state.epoch)  # the epoch in progress's phase
        self.step_lrs: list[float] | None = None  # each group's rate at the last step
        self.stop_reason: str | None = None
        self.last_step: StepResult | None = None  # the latest step's losses, for trackers

    def fire(self, event: str, *args: Any) -> None:
        """Call ``event`` on every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def request_stop(self, reason: str) -> None:
        """End training after the current epoch (a callback's decision, e.g. early stopping)."""
        self.stop_reason = reason

    def run(self) -> TrainState:
        """Train (or continue) to ``config.epochs`` epochs, or until a callback asks to stop."""
        if self.dist.enabled:
            self.phases.check_distributed(self.state.epoch)
        self.fire("on_train_begin")
        if self.lr_schedule is not None:
            self.lr_scheduler = self.lr_schedule.scheduler(self.optimizer, self.state.global_step)
        while self.state.epoch < self.config.epochs and self.stop_reason is None:
            self._train_epoch()
            self._end_epoch()
        self.fire("on_train_end")
        return self.state

    def _train_epoch(self) -> None:
        state, config = self.state, self.config
        batches = epoch_batches(self.data.train, config, state.epoch, self.dist)
        self.num_batches = len(batches)
        self.phase = enter_phase(self.model, self.phases, epoch=state.epoch, step=state.step)
        step_function = pretrain_step if self.phase.pretraining else run_step
        self.fire("on_epoch_begin")
        self.network.train()
        for step in range(state.step, len(batches)):
            batch = collate(self.data.train, batches[step]).to(self.device)
            with autocast(config.precision, self.device):
                result = step_function(
                    self.network,
                    batch,
                    masker=self.masker,
                    schedule=self.schedule,
                    seed=config.seed,
                    epoch=state.epoch,
                    step=step,
                    rank=self.dist.rank,
                    criterion=self.criterion,
                    distill_on=config.distill_on,
                )
            self.optimizer.zero_grad(set_to_none=True)
            result.loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.optimizer.step()
            self.step_lrs = [group["lr"] for group in self.optimizer.param_groups]
            if self.lr_scheduler is not None:
                self.lr_scheduler.step()
            self.last_step = result
            for key, value in {**result.logs, "rate": result.rate, "steps": 1.0}.items():
                state.sums[key] = state.sums.get(key, 0.0) + value
            state.step = step + 1
            state.global_step += 1
            self.fire("on_step_end")

    def _end_epoch(self) -> None:
        """Epoch averages; selection, history and metrics on rank 0; then the next epoch."""
        state = self.state
        steps = max(state.sums.get("steps", 0.0), 1.0)
        record: dict[str, Any] = {
            "epoch": state.epoch + 1,
            "steps": int(state.sums.get("steps", 0)),
        }
        for key, total in state.sums.items():
            if key != "steps":
                record[f"train_{key}"] = total / steps
        record.update(self.phases.record(self.phase))
        if self.dist.is_main:
            self.fire("on_evaluate", record)
            state.history.append(record)
            self.fire("on_epoch_end", record)
        state.epoch, state.step, state.sums = state.epoch + 1, 0, {}
        self.fire("on_epoch_closed")
        distributed.barrier(self.dist)
