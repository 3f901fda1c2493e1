"""Training phases: what the loop does in an epoch, decided from the epoch alone.

Two settings make a run's epochs differ:
- a student with a pre-training phase (`ModelContract.supports_pretraining`, MMIN): the first
  ``pretrain_epochs`` epochs train its complete-data teacher alone (``pretrain_loss`` on the
  unmasked batch); at the first step after them ``finish_pretraining()`` ends the phase (MMIN:
  copies the teacher's encoders and freezes it). Pre-training epochs are never selected as best.
- ``teacher_epochs``: the ITS teacher trains for its first epochs, then stays fixed (no gradient,
  eval mode), so the student distils from targets that no longer move (a moving, overfitting
  teacher keeps the distillation term from settling) and the task loss becomes the student's.

`PhasePlan.at(epoch)` gives the epoch's `Phase`; the loop holds it (``loop.phase``), puts the
models in it at the epoch's start (`enter_phase`) and picks the step function from it. Being a
function of the epoch, a run resumed inside a phase continues it, and one resumed after a phase's
end only freezes again (the weights the end produced are in the checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from erc_data.batch import ConversationBatch
from iteach_app.training.step import StepResult, seed_step
from its_distill import InvertedTeacherStudent, unwrap_model


@dataclass(frozen=True)
class Phase:
    """One epoch's phase: ``pretraining`` (the student's ``pretrain_loss``, missing rate 0) or
    ITS training; ``teacher_frozen``: the ITS teacher takes no gradient and stays in eval mode."""

    pretraining: bool = False
    teacher_frozen: bool = False

    @property
    def name(self) -> str:
        """ "pretrain" or "train" (the epoch record's ``phase``)."""
        return "pretrain" if self.pretraining else "train"


@dataclass(frozen=True)
class PhasePlan:
    """The run's phases. ``pretrain_epochs``: None for a student without a pre-training phase
    (0 for one whose phase is empty: it ends before the first step); ``teacher_epochs``: epochs
    of joint training before the teacher is frozen (0: never frozen)."""

    pretrain_epochs: int | None = None
    teacher_epochs: int = 0

    def __post_init__(self) -> None:
        if self.pretrain_epochs is not None and self.pretrain_epochs < 0:
            raise ValueError(f"pre-training epochs must be >= 0, got {self.pretrain_epochs}")
        if self.teacher_epochs < 0:
            raise ValueError(f"teacher epochs must be >= 0, got {self.teacher_epochs}")

    def at(self, epoch: int) -> Phase:
        """The phase of 0-based ``epoch``."""
        return Phase(
            pretraining=self.pretrain_epochs is not None and epoch < self.pretrain_epochs,
            teacher_frozen=0 < self.teacher_epochs <= epoch,
        )

    def record(self, phase: Phase) -> dict[str, Any]:
        """What an epoch record says of ``phase``: ``teacher_frozen`` where the teacher freezes,
        ``phase`` where the student has a pre-training phase."""
        fields: dict[str, Any] = {}
        if self.teacher_epochs:
            fields["teacher_frozen"] = phase.teacher_frozen
        if self.pretrain_epochs is not None:
            fields["phase"] = phase.name
        return fields

    def check_distributed(self, epoch: int) -> None:
        """Refuse phases that DistributedDataParallel cannot run (from ``epoch`` on)."""
        if self.teacher_epochs:
            raise ValueError(
                "teacher_epochs freezes the teacher mid-run, which DistributedDataParallel does "
                "not allow: train in one process, or with teacher_epochs 0"
            )
        if self.pretrain_epochs is not None and epoch < self.pretrain_epochs:
            raise ValueError(
                "MMIN's pre-training phase runs in one process (its step bypasses "
                "DistributedDataParallel): train without torchrun, or with mmin_pretrain_epochs 0"
            )


def plan_phases(
    model: InvertedTeacherStudent, *, pretrain_epochs: int, teacher_epochs: int, epochs: int
) -> PhasePlan:
    """The phases of a run of ``epochs`` epochs: pre-training where the student supports it;
    the teacher frozen after ``teacher_epochs`` (capped at ``epochs - 1``, so the last epoch is
    the student's alone) where there is a teacher."""
    frozen_after = min(teacher_epochs, epochs - 1) if model.teacher is not None else 0
    return PhasePlan(
        pretrain_epochs=pretrain_epochs if model.student.supports_pretraining else None,
        teacher_epochs=max(frozen_after, 0),
    )


def enter_phase(model: InvertedTeacherStudent, plan: PhasePlan, *, epoch: int, step: int) -> Phase:
    """Put ``model`` in the phase of ``epoch`` at ``step`` (where the epoch's steps start) and
    return it: the student's pre-training ends at the first step after it (on a run resumed
    later, the student re-enters its after-state without redoing the end), and the teacher is
    frozen in a frozen phase. Does nothing already done."""
    phase = plan.at(epoch)
    student = model.student
    ended = plan.pretrain_epochs is not None and not phase.pretraining
    if ended and not student.pretraining_finished:
        if epoch == plan.pretrain_epochs and step == 0:
            student.finish_pretraining()
        else:
            student.enter_after_pretraining()
    if phase.teacher_frozen and model.teacher is not None and not model.freeze_teacher:
        model.freeze_teacher = True
        model.teacher.requires_grad_(False)
        model.teacher.eval()
    return phase


def pretrain_step(
    network: nn.Module, batch: ConversationBatch, *, seed: int, epoch: int, step: int,
    rank: int = 0, **_: Any,
) -> StepResult:  # fmt: skip
    """One step of the student's ``pretrain_loss`` on the complete batch (missing rate 0)."""
    student = unwrap_model(network).student
    seed_step(seed, epoch, step, rank)
    speakers = batch.speakers if student.uses_speakers else None
    loss = student.pretrain_loss(batch.features, batch.utterance_mask, batch.labels, speakers)
    value = float(loss.detach())
    return StepResult(loss, {"loss": value, "pretrain_loss": value}, 0.0)
