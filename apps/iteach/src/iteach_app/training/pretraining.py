"""MMIN's pre-training phase inside the loop: the first ``mmin_pretrain_epochs`` epochs train
its complete-data teacher alone (``pretrain_loss`` on unmasked features); at the first step
after them ``finish_pretraining()`` copies the teacher's encoders and freezes it.

Resumable: the phase follows from the loop state (epoch, step) alone, so a run resumed inside
the phase continues it, and one resumed after its end only freezes the teacher again (the
copied encoders are in the checkpoint). Pre-training epochs are never selected as best.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from erc_data.batch import ConversationBatch
from iteach_app.training.loop import Callback, TrainLoop
from iteach_app.training.seeds import seed_step
from iteach_app.training.step import StepResult, run_step
from its_distill import unwrap_model


def pretrain_step(
    network: nn.Module, batch: ConversationBatch, *, seed: int, epoch: int, step: int,
    rank: int = 0, **_: Any,
) -> StepResult:  # fmt: skip
    """One step of the student's ``pretrain_loss`` on the complete batch (missing rate 0)."""
    student = unwrap_model(network).student
    seed_step(seed, epoch, step, rank)
    speakers = batch.speakers if getattr(student, "uses_speakers", False) else None
    loss = student.pretrain_loss(batch.features, batch.utterance_mask, batch.labels, speakers)
    value = float(loss.detach())
    return StepResult(loss, {"loss": value, "pretrain_loss": value}, 0.0)


class PretrainingPhase(Callback):
    """Runs ``pretrain_step`` for the first ``epochs`` epochs, then the usual step."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_begin(self, loop: TrainLoop) -> None:
        if loop.dist.enabled and loop.state.epoch < self.epochs:
            raise ValueError(
                "MMIN's pre-training phase runs in one process (its step bypasses "
                "DistributedDataParallel): train without torchrun, or with mmin_pretrain_epochs 0"
            )

    def on_epoch_begin(self, loop: TrainLoop) -> None:
        student = loop.model.student
        epoch, step = loop.state.epoch, loop.state.step
        if epoch < self.epochs:
            loop.step_function = pretrain_step
            return
        loop.step_function = run_step
        if not student.teacher_frozen:
            if epoch == self.epochs and step == 0:
                student.finish_pretraining()
            else:
                student.freeze_teacher()

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        record["phase"] = "pretrain" if loop.state.epoch < self.epochs else "train"


def phase_callbacks(model: nn.Module, pretrain_epochs: int) -> list[Callback]:
    """[PretrainingPhase] for a student with ``pretrain_loss`` (MMIN), else []."""
    if hasattr(model, "pretrain_loss") and hasattr(model, "finish_pretraining"):
        return [PretrainingPhase(pretrain_epochs)]
    return []
