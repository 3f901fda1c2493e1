"""The optimisation recipe: AdamW groups, the per-step learning-rate schedule (linear warm-up,
then constant or cosine decay) and the classification criterion (label smoothing, class weights).

The schedule is a pure function of the optimiser step, run by torch's ``LambdaLR`` from each
group's ``base_lr``; a resumed run builds the scheduler at its global step, so it needs no
scheduler state beyond that step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from iteach_app.config import TrainConfig
from iteach_app.training.adamw import AdamW
from its_distill import InvertedTeacherStudent, ITSOutput
from its_distill.losses import IGNORE_INDEX


def build_optimizer(model: InvertedTeacherStudent, config: TrainConfig) -> AdamW:
    """AdamW (training/adamw.py: torch's, without the torch._dynamo import) over each model's
    parameter_groups (router at router_lr) plus any projections; a model with no groups of its
    own (a baseline: the contract's default) is one group at lr. Every group keeps its
    configured rate as ``base_lr`` for the schedule."""
    groups: list[dict] = []
    seen: set[int] = set()
    for role, net in (("student", model.student), ("teacher", model.teacher)):
        if net is None:
            continue
        for group in net.parameter_groups(config.lr, config.router_lr, config.weight_decay):
            groups.append({**group, "name": f"{role}/{group.get('name', 'params')}"})
            seen.update(id(p) for p in group["params"])
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        groups.append(
            {
                "name": "projections" if groups else "student/params",
                "params": rest,
                "lr": config.lr,
                "weight_decay": config.weight_decay,
            }
        )
    for group in groups:
        group["base_lr"] = group.get("lr", config.lr)
    return AdamW(groups, lr=config.lr, weight_decay=config.weight_decay, foreach=True)


@dataclass(frozen=True)
class LRSchedule:
    """Learning-rate factor per optimiser step: linear warm-up over ``warmup_steps`` (step s
    gets (s + 1) / warmup_steps), then 1 ("constant") or a cosine from 1 to 0 at ``total_steps``."""

    kind: str
    total_steps: int
    warmup_steps: int = 0

    def factor(self, step: int) -> float:
        """The multiplier of every group's base_lr for the step numbered ``step`` (from 0)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def scheduler(self, optimizer: torch.optim.Optimizer, step: int = 0) -> LambdaLR:
        """torch's ``LambdaLR`` of ``factor`` over each group's ``base_lr``, positioned at the
        optimiser step numbered ``step`` (0 for a new run, the global step for a resumed one):
        the groups' lr is ``base_lr * factor(step)`` now, and ``scheduler.step()`` after each
        optimiser step moves to the next."""
        for group in optimizer.param_groups:
            group["initial_lr"] = group["base_lr"]
        return LambdaLR(optimizer, self.factor, last_epoch=step - 1)


MAX_WARMUP_STEPS = 1000  # warm-up long enough for AdamW's moments; a fraction of a huge
# horizon (say 10^6 epochs) would otherwise hold the learning rate near 0 for the whole run


def build_schedule(config: TrainConfig, steps_per_epoch: int) -> LRSchedule:
    """The config's schedule over all ``epochs * steps_per_epoch`` optimiser steps; warm-up
    is ``warmup_fraction`` of them, at most `MAX_WARMUP_STEPS`."""
    total = config.epochs * steps_per_epoch
    warmup = min(round(config.warmup_fraction * total), MAX_WARMUP_STEPS)
    return LRSchedule(config.lr_schedule, total, warmup)


def inverse_frequency_weights(label_counts: Mapping[int, int], num_classes: int) -> torch.Tensor:
    """(C,) weights n / (C * n_c) from the training split's utterances per class; a class with
    no training utterance gets weight 0 (nothing to balance)."""
    counts = torch.tensor([float(label_counts.get(c, 0)) for c in range(num_classes)])
    total = counts.sum()
    if total <= 0:
        raise ValueError("class_weights = inverse: the training split has no labelled utterance")
    weights = torch.where(counts > 0, total / (num_classes * counts.clamp(min=1)), 0.0)
    return weights


class Criterion:
    """Cross-entropy over valid positions with label smoothing and optional class weights:
    logits (*P, C), target (*P) int (IGNORE_INDEX ignored), valid (*P) bool -> scalar."""

    def __init__(self, label_smoothing: float = 0.0, class_weights: torch.Tensor | None = None):
        self.label_smoothing = label_smoothing
        self.class_weights = class_weights

    def __call__(
        self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        keep = valid & (target != IGNORE_INDEX)
        if not bool(keep.any()):
            return logits.sum() * 0.0
        weight = None
        if self.class_weights is not None:
            weight = self.class_weights.to(device=logits.device, dtype=logits.dtype)
        return F.cross_entropy(
            logits[keep], target[keep], weight=weight, label_smoothing=self.label_smoothing
        )

    def its_loss(
        self, output: ITSOutput, target: torch.Tensor, valid: torch.Tensor, frozen_teacher: bool
    ) -> torch.Tensor:
        """The ITS loss with this criterion as the task loss: (teacher + student) / 2 (the
        student alone without a trained teacher) + the wrapper's distillation term."""
        student = self(output.student_logits, target, valid)
        if output.teacher_logits is None or frozen_teacher:
            return student + output.distill_loss
        teacher = self(output.teacher_logits, target, valid)
        return (teacher + student) / 2 + output.distill_loss


def build_criterion(
    config: TrainConfig, task: str, train_counts: Mapping[int, int] | None, num_classes: int
) -> Criterion | None:
    """The recipe's criterion, or None where the wrapper's plain loss is the same (regression,
    no smoothing, no class weights)."""
    if task != "classification":
        return None
    if config.label_smoothing == 0 and config.class_weights == "none":
        return None
    weights = None
    if config.class_weights == "inverse":
        weights = inverse_frequency_weights(train_counts or {}, num_classes)
    return Criterion(config.label_smoothing, weights)
