"""Task loss over valid positions and the masked distance between hidden states."""

from __future__ import annotations

import torch
import torch.nn.functional as F

TASKS = ("classification", "regression")
REGRESSION_LOSSES = ("mse", "mae")
IGNORE_INDEX = -100


def _regression_values(logits: torch.Tensor, target: torch.Tensor, name: str) -> torch.Tensor:
    if logits.shape == target.shape:
        return logits
    if logits.shape == (*target.shape, 1):
        return logits.squeeze(-1)
    raise ValueError(
        f"{name} regression output has shape {tuple(logits.shape)}; for a target of shape "
        f"{tuple(target.shape)} it must be {tuple(target.shape)} or {(*target.shape, 1)}"
    )


def _check_labels(target: torch.Tensor, keep: torch.Tensor, classes: int, name: str) -> None:
    """Raise a ValueError naming the first kept label outside 0 .. classes - 1, and where it is."""
    outside = keep & ((target < 0) | (target >= classes))
    if bool(outside.any()):
        where = tuple(int(i) for i in outside.nonzero()[0])
        raise ValueError(
            f"label {int(target[where])} at target position {where} is not a class of the "
            f"{name}'s {classes} logits (classes 0 .. {classes - 1}; {IGNORE_INDEX} marks a "
            f"position to ignore)"
        )


def task_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor | None,
    *,
    task: str,
    regression_loss: str = "mse",
    name: str = "model",
) -> torch.Tensor:
    """Mean loss over valid positions (0 where none is valid).

    Classification: logits (*P, C), integer target (*P) (entries equal to -100 are ignored too),
    cross-entropy. Regression: outputs (*P) or (*P, 1), float target (*P), MSE or MAE.
    """
    if task == "classification":
        if logits.shape[:-1] != target.shape:
            raise ValueError(
                f"{name} logits have shape {tuple(logits.shape)}; for a target of shape "
                f"{tuple(target.shape)} they must be {(*target.shape, 'C')}"
            )
        if target.is_floating_point() or target.is_complex():
            raise TypeError(
                f"classification needs integer class targets, got dtype {target.dtype}; "
                f"use task='regression' for real-valued targets"
            )
        keep = target != IGNORE_INDEX
        keep = keep if valid is None else keep & valid
        _check_labels(target, keep, logits.shape[-1], name)
        losses = F.cross_entropy(logits[keep], target[keep], reduction="none")
    else:
        values = _regression_values(logits, target, name)
        keep = torch.ones_like(target, dtype=torch.bool) if valid is None else valid
        kept = target[keep]
        finite = torch.isfinite(kept)
        if not bool(finite.all()):
            where = tuple(int(i) for i in (keep & ~torch.isfinite(target)).nonzero()[0])
            raise ValueError(
                f"regression target {float(target[where])} at position {where} is not finite; "
                "mark unlabelled positions False in valid"
            )
        diff = values[keep] - kept.to(values.dtype)
        losses = diff.square() if regression_loss == "mse" else diff.abs()
    return losses.sum() / max(losses.numel(), 1)


DISTANCES = ("mse", "normalized_mse", "cosine")
NORM_EPS = 1e-5


def masked_distance(
    student: torch.Tensor, teacher: torch.Tensor, kind: str = "mse"
) -> torch.Tensor:
    """Mean over rows of a distance between hidden states: (N, D), (N, D) -> ().

    ``kind``: "mse" (the paper's form: squared L2 distance averaged over features; it grows with
    the states' scale, so a residual stream whose norm grows keeps it growing), "normalized_mse"
    (the same after standardising each row over its features, LayerNorm without affine: it
    compares the states' directions and shapes only and lies in [0, 4]) or "cosine" (1 - the
    cosine similarity of each pair of rows, in [0, 2]).
    """
    if kind not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, not {kind!r}")
    if kind == "normalized_mse":
        width = (student.shape[-1],)
        student = F.layer_norm(student, width, eps=NORM_EPS)
        teacher = F.layer_norm(teacher, width, eps=NORM_EPS)
    if kind == "cosine":
        per_row = 1.0 - F.cosine_similarity(student, teacher, dim=-1, eps=NORM_EPS)
    else:
        per_row = (student - teacher).square().mean(dim=-1)
    return per_row.sum() / max(per_row.numel(), 1)
