"""The result of one InvertedTeacherStudent step: the total loss and each of its parts."""

from __future__ import annotations

from typing import NamedTuple

import torch


class ITSOutput(NamedTuple):
    """Losses (0-dim tensors) and logits of one step.

    `loss = task_loss + distill_loss`; `task_loss` is the mean of `teacher_loss` and `student_loss`
    (the student's alone with a frozen teacher or none); `distill_loss = sum_k w_k *
    layer_distances[k]`. Without a teacher (PRE) `teacher_loss` and `teacher_logits` are None and
    `layer_distances` is empty.
    """

    loss: torch.Tensor
    task_loss: torch.Tensor
    distill_loss: torch.Tensor
    teacher_loss: torch.Tensor | None
    student_loss: torch.Tensor
    layer_distances: tuple[torch.Tensor, ...]
    teacher_logits: torch.Tensor | None
    student_logits: torch.Tensor

    def log_dict(self, prefix: str = "") -> dict[str, float]:
        """Every loss as a float, for logging: loss, task_loss, distill_loss, teacher_loss,
        student_loss, distance_0, distance_1, ... (keys prefixed by `prefix`)."""
        values = {
            "loss": self.loss,
            "task_loss": self.task_loss,
            "distill_loss": self.distill_loss,
            "teacher_loss": self.teacher_loss,
            "student_loss": self.student_loss,
        }
        values.update({f"distance_{k}": d for k, d in enumerate(self.layer_distances)})
        return {prefix + key: float(v.detach()) for key, v in values.items() if v is not None}
