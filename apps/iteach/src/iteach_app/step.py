"""One training step's inputs: a complete copy for the teacher, a masked copy for the student."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from erc_data.batch import ConversationBatch
from iteach_app.seeds import generator, seed_step
from its_distill import ITSOutput
from missing_modality import ModalityMasker, Schedule


@dataclass
class StepInputs:
    """What the ITS wrapper takes for one batch, and the missing rate the student saw."""

    teacher_inputs: dict[str, Any] | None
    student_inputs: dict[str, Any]
    target: torch.Tensor
    valid: torch.Tensor
    distill_where: torch.Tensor
    rate: float


def prepare_step(
    batch: ConversationBatch,
    *,
    masker: ModalityMasker,
    schedule: Schedule,
    seed: int,
    epoch: int,
    step: int,
    rank: int = 0,
    with_teacher: bool = True,
) -> StepInputs:
    """Mask the batch for the student at the schedule's rate (masks from seed, epoch, step, rank).

    ``distill_where`` (B, L) marks the real utterances where the student saw at least one modality
    missing; the teacher's copy is complete (``present`` True on every real utterance).
    """
    mask = batch.utterance_mask
    gen = generator(seed, "mask", epoch, step, rank)
    rate = float(schedule(epoch, step, generator=gen))
    masked = masker(batch.features, mask, rate, generator=gen)
    distill_where = mask & ~masked.present.all(dim=-1)
    teacher_inputs = None
    if with_teacher:
        complete = mask.unsqueeze(-1).expand_as(masked.present).clone()
        teacher_inputs = {"features": batch.features, "utterance_mask": mask, "present": complete}
    student_inputs = {
        "features": masked.features,
        "utterance_mask": mask,
        "present": masked.present,
    }
    return StepInputs(teacher_inputs, student_inputs, batch.labels, mask, distill_where, rate)


def step_output(
    model: nn.Module,
    batch: ConversationBatch,
    *,
    masker: ModalityMasker,
    schedule: Schedule,
    seed: int,
    epoch: int,
    step: int,
    rank: int = 0,
    with_teacher: bool = True,
) -> tuple[ITSOutput, float]:
    """Seed the step (dropout), build the inputs and run the ITS wrapper (or its DDP wrapper)."""
    seed_step(seed, epoch, step, rank)
    inputs = prepare_step(
        batch,
        masker=masker,
        schedule=schedule,
        seed=seed,
        epoch=epoch,
        step=step,
        rank=rank,
        with_teacher=with_teacher,
    )
    output = model(
        inputs.teacher_inputs,
        inputs.student_inputs,
        inputs.target,
        valid=inputs.valid,
        distill_where=inputs.distill_where,
    )
    return output, inputs.rate
