"""Teacher / student per framework (ITS, TS, PRE) wrapped in its_distill, and their optimizer."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from iteach_app.config import TrainConfig
from iteach_app.model import ITEACHNet
from its_distill import InvertedTeacherStudent

MIXER_OF_KIND = {"transformer": "attention", "nas": "nas"}


def build_model(
    config: TrainConfig, modality_dims: Mapping[str, int], out_dim: int, *, kind: str, layers: int
) -> ITEACHNet:
    """One ITEACH-Net (encoder + classifier) of ``kind`` (transformer / nas), ``layers`` deep."""
    return ITEACHNet(
        dict(modality_dims),
        out_dim,
        num_layers=layers,
        mixer=MIXER_OF_KIND[kind],
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
        window=config.window,
        max_distance=config.max_distance,
        ecce=config.ecce,
        dropout=config.dropout,
    )


def build_framework(
    config: TrainConfig, modality_dims: Mapping[str, int], out_dim: int, task: str
) -> InvertedTeacherStudent:
    """ITS (teacher 3 / student 4 layers), TS (4 / 3) or PRE (student alone) per the config.

    Models are built under a fixed seed derived from ``config.seed``, so a run's initial weights
    depend on its config alone. The last ``min(3, layers)`` fused-text hidden states are distilled.
    """
    teacher_layers, student_layers = config.resolved_layers()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        student = build_model(
            config, modality_dims, out_dim, kind=config.student, layers=student_layers
        )
        teacher = None
        if teacher_layers is not None:
            teacher = build_model(
                config, modality_dims, out_dim, kind=config.teacher, layers=teacher_layers
            )
    if teacher is None:
        return InvertedTeacherStudent(
            None,
            student,
            layer_weights=config.layer_weights,
            task=task,
            regression_loss=config.regression_loss,
        )
    depth = min(3, teacher_layers, student_layers)
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.hidden_layer_paths(depth),
        student_layers=student.hidden_layer_paths(depth),
        layer_weights=config.layer_weights[:depth],
        task=task,
        regression_loss=config.regression_loss,
    )


def build_optimizer(model: InvertedTeacherStudent, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over each model's parameter_groups (router at router_lr) plus any projections."""
    groups: list[dict] = []
    seen: set[int] = set()
    for role in ("student", "teacher"):
        net: nn.Module | None = getattr(model, role)
        if net is None:
            continue
        for group in net.parameter_groups(config.lr, config.router_lr, config.weight_decay):
            groups.append({**group, "name": f"{role}/{group.get('name', 'params')}"})
            seen.update(id(p) for p in group["params"])
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        groups.append(
            {
                "name": "projections",
                "params": rest,
                "lr": config.lr,
                "weight_decay": config.weight_decay,
            }
        )
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
