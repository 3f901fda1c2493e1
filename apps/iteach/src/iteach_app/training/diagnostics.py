"""Why a distillation diverges or helps, per epoch: the scale of the distilled hidden states and
the gradients the task and the distillation put on the student.

Measured on one fixed diagnostic batch (the first training conversations, at most
``DIAGNOSTIC_CONVERSATIONS``, masked at rate 0.5 from a fixed seed), in eval mode (no dropout),
in one forward pass, and without touching the parameters' ``.grad``, so training draws and
computes exactly what it would without it.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import torch

from erc_data.batch import ConversationBatch
from iteach_app.data import collate
from iteach_app.training.loop import Callback, TrainLoop
from iteach_app.training.step import generator, model_inputs
from its_distill import HiddenStateCapture, InvertedTeacherStudent, capture_hidden_states

DIAGNOSTIC_RATE = 0.5
# At most this many conversations (a batch of the default preset): a paper-preset batch of 32
# padded conversations, forward and two backward passes, cost a third of the epoch it followed.
DIAGNOSTIC_CONVERSATIONS = 8
DIAGNOSTIC_KEYS = (
    "diag_teacher_norm",
    "diag_student_norm",
    "diag_task_grad_norm",
    "diag_distill_grad_norm",
)


def _mean_row_norm(states: tuple[torch.Tensor, ...], where: torch.Tensor) -> list[float]:
    """Mean L2 norm of the rows at ``where`` (B, L) of each (B, L, D) state."""
    return [float(state.detach()[where].norm(dim=-1).mean()) for state in states]


def _grad_norm(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> float:
    """L2 norm over ``params`` of d loss / d params (0 where the loss does not reach them)."""
    if not loss.requires_grad:
        return 0.0
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    total = sum(float(g.detach().square().sum()) for g in grads if g is not None)
    return total**0.5


def distillation_diagnostics(
    its: InvertedTeacherStudent,
    batch: ConversationBatch,
    *,
    seed: int,
    masker: Any,
    distill_on: str = "missing",
) -> dict[str, float]:
    """Per distilled layer k (0 = nearest the output): ``diag_teacher_norm_k`` and
    ``diag_student_norm_k`` (mean row norm over the distilled utterances), plus the student's
    gradient norms from the task loss and from the distillation loss. A run without a teacher
    gets the task gradient norm alone."""
    mask = batch.utterance_mask
    gen = generator(seed, "diagnostics")
    masked = masker(batch.features, mask, DIAGNOSTIC_RATE, generator=gen)
    where = mask if distill_on == "all" else mask & ~masked.present.all(dim=-1)
    student_inputs = model_inputs(its.student, batch, masked.features, masked.present)
    if its.student.takes_complete:
        student_inputs["complete"] = batch.features
    teacher_inputs = None
    if its.teacher is not None:
        complete = mask.unsqueeze(-1).expand_as(masked.present).clone()
        teacher_inputs = model_inputs(its.teacher, batch, batch.features, complete)
    params = [p for p in its.student.parameters() if p.requires_grad]
    was_training = its.training
    its.eval()
    try:
        with torch.enable_grad(), ExitStack() as hooks:
            if its.teacher is not None:  # the states of this one forward, not of a second one
                teacher_capture = hooks.enter_context(_capture(its.teacher, its.teacher_layers))
                student_capture = hooks.enter_context(_capture(its.student, its.student_layers))
            output = its(teacher_inputs, student_inputs, batch.labels, valid=mask,
                         distill_where=where)  # fmt: skip
            record = {"diag_task_grad_norm": _grad_norm(output.task_loss, params)}
            if its.teacher is None:
                return record
            record["diag_distill_grad_norm"] = _grad_norm(output.distill_loss, params)
            teacher_states = teacher_capture.states()
            student_states = student_capture.states()
    finally:
        its.train(was_training)
    if not bool(where.any()):
        return record
    for name, states in (("teacher", teacher_states), ("student", student_states)):
        for k, value in enumerate(_mean_row_norm(states, where)):
            record[f"diag_{name}_norm_{k}"] = value
    return record


def _capture(model: torch.nn.Module, layers: tuple[str, ...] | None) -> HiddenStateCapture:
    """Hooks recording ``model``'s hidden states at ``layers`` (none: records nothing)."""
    return capture_hidden_states(model, layers or ())


class DistillDiagnostics(Callback):
    """Adds ``distillation_diagnostics`` of the fixed diagnostic batch to each epoch's record
    (metrics.json / metrics.csv), before selection evaluates the epoch."""

    def __init__(self) -> None:
        self.batch: ConversationBatch | None = None

    def on_train_begin(self, loop: TrainLoop) -> None:
        train = loop.data.train
        count = min(len(train), loop.config.batch_size or 1, DIAGNOSTIC_CONVERSATIONS)
        self.batch = collate(train, list(range(count))).to(loop.device)

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        if self.batch is None or record.get("phase") == "pretrain":
            return
        record.update(
            distillation_diagnostics(
                loop.model,
                self.batch,
                seed=loop.config.seed,
                masker=loop.masker,
                distill_on=loop.config.distill_on,
            )
        )
