"""One training step: a complete copy of the batch for the teacher, a masked copy for the
student, the ITS forward, and any auxiliary losses the models define.

What a step asks of the models is the `ModelContract` (model/protocol.py): inputs are
``features, utterance_mask, present`` plus ``speakers`` (B,L) long for a model class that sets
``uses_speakers = True``. Where a model's ``auxiliary_loss()`` returns a scalar computed during
its last forward (e.g. a baseline's reconstruction loss), the step adds it to the ITS loss and
logs it as ``<role>_auxiliary_loss``. A student that sets ``takes_complete = True`` (the
baselines) also gets ``complete``: the unmasked features, the targets of its imputation losses.

Determinism: every seed is derived from (seed, purpose, epoch, step, ...) by `derive_seed`, stable
across processes and Python runs; a step seeds torch's global RNG (dropout) itself, so a resumed
run draws exactly what an uninterrupted one would. Precision: float32, or bfloat16 autocast on CPU
or GPU (matrix products in bf16, reductions and the loss in float32; weights stay float32).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from erc_data.batch import ConversationBatch
from iteach_app.model.protocol import ModelContract
from iteach_app.training.optim import Criterion
from its_distill import ITSOutput, unwrap_model
from missing_modality import ModalityMasker, Schedule

PRECISIONS = ("32", "bf16")


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from ``seed`` and any labels (SHA-256, so not Python's salted ``hash``)."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def generator(seed: int, *parts: object) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``derive_seed(seed, *parts)``."""
    return torch.Generator().manual_seed(derive_seed(seed, *parts))


def seed_step(seed: int, epoch: int, step: int, rank: int = 0) -> None:
    """Seed torch's global RNGs (dropout, DropPath) for one training step.

    Done explicitly at the start of every step, so a resumed run draws exactly what an
    uninterrupted one would; nothing else in the app reads the global RNG.
    """
    torch.manual_seed(derive_seed(seed, "step", epoch, step, rank))


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` on ``device`` ("32": none)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@dataclass
class StepInputs:
    """What the ITS wrapper takes for one batch, and the missing rate the student saw."""

    teacher_inputs: dict[str, Any] | None
    student_inputs: dict[str, Any]
    target: torch.Tensor
    valid: torch.Tensor
    distill_where: torch.Tensor
    rate: float


@dataclass
class StepResult:
    """The loss to back-propagate, every logged value (floats), and the student's missing rate."""

    loss: torch.Tensor
    logs: dict[str, float]
    rate: float


def model_inputs(
    model: ModelContract | None, batch: ConversationBatch, features: Any, present: torch.Tensor
) -> dict[str, Any]:
    """Keyword inputs of ``model``: features, utterance_mask, present (+ speakers if used)."""
    inputs = {"features": features, "utterance_mask": batch.utterance_mask, "present": present}
    if model is not None and model.uses_speakers:
        inputs["speakers"] = batch.speakers
    return inputs


def prepare_step(
    batch: ConversationBatch,
    *,
    masker: ModalityMasker,
    schedule: Schedule,
    seed: int,
    epoch: int,
    step: int,
    rank: int = 0,
    teacher: ModelContract | None = None,
    student: ModelContract | None = None,
    distill_on: str = "missing",
) -> StepInputs:
    """Mask the batch for the student at the schedule's rate (masks from seed, epoch, step, rank).

    ``distill_where`` (B, L) marks the real utterances where the student saw at least one modality
    missing (``distill_on="all"``: every real utterance); the teacher's copy (None without
    ``teacher``) is complete.
    """
    mask = batch.utterance_mask
    gen = generator(seed, "mask", epoch, step, rank)
    rate = float(schedule(epoch, step, generator=gen))
    masked = masker(batch.features, mask, rate, generator=gen)
    distill_where = mask if distill_on == "all" else mask & ~masked.present.all(dim=-1)
    teacher_inputs = None
    if teacher is not None:
        complete = mask.unsqueeze(-1).expand_as(masked.present).clone()
        teacher_inputs = model_inputs(teacher, batch, batch.features, complete)
    student_inputs = model_inputs(student, batch, masked.features, masked.present)
    if student is not None and student.takes_complete:
        student_inputs["complete"] = batch.features
    return StepInputs(teacher_inputs, student_inputs, batch.labels, mask, distill_where, rate)


def run_step(
    network: nn.Module,
    batch: ConversationBatch,
    *,
    masker: ModalityMasker,
    schedule: Schedule,
    seed: int,
    epoch: int,
    step: int,
    rank: int = 0,
    criterion: Criterion | None = None,
    distill_on: str = "missing",
) -> StepResult:
    """Seed the step (dropout), build the inputs, run the ITS wrapper (or its DDP wrapper);
    ``criterion`` (label smoothing / class weights) replaces the wrapper's task loss."""
    its = unwrap_model(network)
    seed_step(seed, epoch, step, rank)
    inputs = prepare_step(
        batch,
        masker=masker,
        schedule=schedule,
        seed=seed,
        epoch=epoch,
        step=step,
        rank=rank,
        teacher=its.teacher,
        student=its.student,
        distill_on=distill_on,
    )
    output: ITSOutput = network(
        inputs.teacher_inputs,
        inputs.student_inputs,
        inputs.target,
        valid=inputs.valid,
        distill_where=inputs.distill_where,
    )
    loss, logs = output.loss, output.log_dict()
    if criterion is not None:
        loss = criterion.its_loss(output, inputs.target, inputs.valid, its.freeze_teacher)
    for role, module in (("teacher", its.teacher), ("student", its.student)):
        value = module.auxiliary_loss() if module is not None else None
        if value is not None:
            loss = loss + value
            logs[f"{role}_auxiliary_loss"] = float(value.detach())
    logs["loss"] = float(loss.detach())
    return StepResult(loss, logs, inputs.rate)
