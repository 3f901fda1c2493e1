"""A teacher that trains for its first epochs, then stays fixed: the student then distils from
targets that no longer move (a moving, overfitting teacher keeps the distillation term from
settling), and the task loss becomes the student's alone."""

from __future__ import annotations

from typing import Any

from iteach_app.training.loop import Callback, TrainLoop


class TeacherFreeze(Callback):
    """From epoch ``epochs`` on (0-based, so after ``epochs`` epochs of joint training), the
    wrapper's teacher is frozen: no gradient, eval mode (no dropout in its targets). Decided
    from the epoch alone, so a resumed run freezes it again at once."""

    def __init__(self, epochs: int) -> None:
        if epochs < 1:
            raise ValueError(f"teacher epochs must be >= 1, got {epochs}")
        self.epochs = epochs

    def on_train_begin(self, loop: TrainLoop) -> None:
        if loop.dist.enabled:
            raise ValueError(
                "teacher_epochs freezes the teacher mid-run, which DistributedDataParallel does "
                "not allow: train in one process, or with teacher_epochs 0"
            )

    def on_epoch_begin(self, loop: TrainLoop) -> None:
        its = loop.model
        if loop.state.epoch < self.epochs or its.teacher is None or its.freeze_teacher:
            return
        its.freeze_teacher = True
        its.teacher.requires_grad_(False)
        its.teacher.eval()

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        record["teacher_frozen"] = bool(loop.model.freeze_teacher)
