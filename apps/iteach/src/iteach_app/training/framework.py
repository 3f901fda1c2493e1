"""The three training frameworks behind one interface: ITS, TS and PRE, each a preset of
(teacher model, student model) wrapped in its_distill's InvertedTeacherStudent, and its optimizer.

Presets follow the paper: ITS = 3-layer attention teacher + 4-layer NAS student; TS (the usual
teacher-student direction) = 4-layer NAS teacher + 3-layer attention student; PRE = the
attention model alone (4 layers, as the results script trains it). A config's teacher /
student / *_layers override a preset's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from iteach_app.config import TrainConfig
from iteach_app.model import PAPER_LAYERS, create_model
from iteach_app.training.optim import build_optimizer
from its_distill import InvertedTeacherStudent

__all__ = ["PRESETS", "build_framework", "build_model", "build_optimizer", "resolve_roles"]


@dataclass(frozen=True)
class Role:
    """A model name (in the model registry) and its depth."""

    model: str
    layers: int


@dataclass(frozen=True)
class Preset:
    """A framework's teacher (None: no teacher) and student."""

    teacher: Role | None
    student: Role


TEACHER, STUDENT = PAPER_LAYERS["teacher"], PAPER_LAYERS["student"]
PRESETS: dict[str, Preset] = {
    "its": Preset(Role("attention", TEACHER), Role("nas", STUDENT)),
    "ts": Preset(Role("nas", STUDENT), Role("attention", TEACHER)),
    "pre": Preset(None, Role("attention", STUDENT)),
}
DISTILLED_LAYERS = 3  # the paper distils the last three layers' hidden states


def resolve_roles(config: TrainConfig) -> tuple[Role | None, Role]:
    """The (teacher or None, student) a config trains: its preset, overridden by the config; a
    baseline (``config.model`` other than iteach) alone, as PRE (layers 0: its own depth)."""
    if config.model != "iteach":
        return None, Role(config.model, 0)
    preset = PRESETS[config.framework]
    student = Role(
        config.student or preset.student.model, config.student_layers or preset.student.layers
    )
    if preset.teacher is None:
        return None, student
    teacher = Role(
        config.teacher or preset.teacher.model, config.teacher_layers or preset.teacher.layers
    )
    return teacher, student


def build_model(
    config: TrainConfig, role: Role, modality_dims: Mapping[str, int], out_dim: int
) -> nn.Module:
    """One model of ``role`` with the config's shared sizes, through the model registry (a
    baseline with its original hyperparameters)."""
    if role.model == config.model != "iteach":
        return create_model(role.model, modality_dims, out_dim)
    return create_model(
        role.model,
        modality_dims,
        out_dim,
        num_layers=role.layers,
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
        window=config.window,
        max_distance=config.max_distance,
        ecce=config.ecce,
        dropout=config.dropout,
        gated_fusion=config.fusion_gates == "tanh",
        input_norm=config.input_norm == "layernorm",
        activation_checkpointing=config.activation_checkpointing,
        causal=config.causal,
    )


def build_framework(
    config: TrainConfig, modality_dims: Mapping[str, int], out_dim: int, task: str
) -> InvertedTeacherStudent:
    """Teacher and student per the config's framework, wrapped for ITS training.

    Models are built under a fixed seed derived from ``config.seed`` (student first), so a
    run's initial weights depend on its config alone. The last ``min(3, layers)`` hidden
    states are distilled.
    """
    teacher_role, student_role = resolve_roles(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        student = build_model(config, student_role, modality_dims, out_dim)
        teacher = None
        if teacher_role is not None:
            teacher = build_model(config, teacher_role, modality_dims, out_dim)
    common = {"task": task, "regression_loss": config.regression_loss}
    if teacher is None or teacher_role is None:
        return InvertedTeacherStudent(None, student, layer_weights=config.layer_weights, **common)
    depth = min(DISTILLED_LAYERS, teacher_role.layers, student_role.layers)
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.hidden_layer_paths(depth),
        student_layers=student.hidden_layer_paths(depth),
        layer_weights=config.layer_weights[:depth],
        **common,
    )
