"""The three training frameworks behind one interface: ITS, TS and PRE, each a preset of
(teacher model, student model) wrapped in its_distill's InvertedTeacherStudent, and its optimizer.

Presets follow the paper (config/presets.py FRAMEWORK_ROLES): ITS = 3-layer attention teacher
+ 4-layer NAS student; TS (the usual teacher-student direction) = 4-layer NAS teacher + 3-layer
attention student; PRE = the attention model alone (4 layers, as the results script trains it).
A config's teacher / student / *_layers override a preset's.

Models are built by name with their settings by name: the config's model settings (fields
marked ``model_setting``) and its ``model_options`` table reach the model's factory under the
factory's own keyword names; one it does not take, set by the user, is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.config.presets import FRAMEWORK_ROLES
from iteach_app.config.presets import PRESETS as RECIPES
from iteach_app.config.schema import FIELDS, MODEL_SETTINGS
from iteach_app.model import create_model, model_entry
from iteach_app.training.optim import build_optimizer
from its_distill import InvertedTeacherStudent

__all__ = [
    "PRESETS",
    "build_framework",
    "build_model",
    "build_optimizer",
    "model_label",
    "model_settings",
    "resolve_roles",
]


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


PRESETS: dict[str, Preset] = {
    name: Preset(
        Role(roles["teacher"], roles["teacher_layers"]) if "teacher" in roles else None,
        Role(roles["student"], roles["student_layers"]),
    )
    for name, roles in FRAMEWORK_ROLES.items()
}
FRAMEWORK_NAMES = {"its": "ITS", "ts": "TS", "pre": "PRE"}
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
    config: TrainConfig,
    role: Role,
    modality_dims: Mapping[str, int],
    out_dim: int,
    *,
    strict: bool = True,
) -> nn.Module:
    """One model of ``role`` through the model registry, with `model_settings` (an encoder of
    the framework also takes its depth, ``num_layers``)."""
    settings = model_settings(config, role.model, strict=strict)
    if model_entry(role.model).kind == "encoder":
        settings["num_layers"] = role.layers
    return create_model(role.model, modality_dims, out_dim, **settings)


def model_settings(config: TrainConfig, name: str, *, strict: bool = True) -> dict[str, object]:
    """The keyword arguments model ``name`` is built with, by the factory's own names.

    An ITEACH-Net encoder takes every model setting of the config. Another model (a baseline,
    with its original defaults) takes only those the user set, i.e. that differ from the
    schema's default or the preset's value, so a baseline keeps its own defaults. Either way
    ``model_options`` is added, and a name the factory does not take raises ConfigError naming
    the setting and the model (``causal`` excepted: a baseline's causality is its class's
    ``future_context``, checked at validation). ``strict=False`` (a run folder trained before
    such settings were refused, when they were ignored) drops them instead, so the run rebuilds
    as it trained; ``model_options`` are always checked."""
    entry = model_entry(name)
    accepted = entry.accepted_settings()
    if entry.kind == "encoder":
        settings = {key: getattr(config, key) for key in MODEL_SETTINGS}
    else:
        settings = {
            key: getattr(config, key)
            for key in MODEL_SETTINGS
            if key != "causal" and getattr(config, key) != _default(config, key)
        }
    if not strict:
        settings = {key: value for key, value in settings.items() if _takes(accepted, key)}
    unknown = [key for key in {**settings, **config.model_options} if not _takes(accepted, key)]
    if unknown:
        raise ConfigError(
            f"model {name!r} does not take {', '.join(unknown)} (it takes: "
            f"{', '.join(sorted(accepted or ()))}); drop the setting or pick another model"
        )
    return {**settings, **config.model_options}


def _takes(accepted: frozenset[str] | None, key: str) -> bool:
    return accepted is None or key in accepted


def _default(config: TrainConfig, key: str) -> object:
    recipe = RECIPES.get(config.preset, {})
    if key in recipe:
        return recipe[key]
    f = FIELDS[key]
    return f.default_factory() if callable(f.default_factory) else f.default


def model_label(config: TrainConfig, *, short: bool = False) -> str:
    """What a run trains, from the model registry's labels: for titles, legends and tables.

    ``iteach``: "ITEACH-Net (ITS), attention-3 teacher / nas-4 student" or "PRE, attention-4"
    (short: "ITS" / "TS" / "PRE"); a baseline: its registered label ("GCNet")."""
    if config.model != "iteach":
        return model_entry(config.model).label
    framework = FRAMEWORK_NAMES.get(config.framework, config.framework)
    if short:
        return framework
    name = (
        f"{model_entry('iteach').label} ({framework})" if config.framework == "its" else framework
    )
    teacher, student = resolve_roles(config)
    if teacher is None:
        return f"{name}, {student.model}-{student.layers}"
    return (
        f"{name}, {teacher.model}-{teacher.layers} teacher / "
        f"{student.model}-{student.layers} student"
    )


def build_framework(
    config: TrainConfig,
    modality_dims: Mapping[str, int],
    out_dim: int,
    task: str,
    *,
    strict: bool = True,
) -> InvertedTeacherStudent:
    """Teacher and student per the config's framework, wrapped for ITS training.

    Models are built under a fixed seed derived from ``config.seed`` (student first), so a
    run's initial weights depend on its config alone. The last ``min(3, layers)`` hidden
    states are distilled. ``strict``: see `model_settings` (False to rebuild a trained run).
    """
    teacher_role, student_role = resolve_roles(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        student = build_model(config, student_role, modality_dims, out_dim, strict=strict)
        teacher = None
        if teacher_role is not None:
            teacher = build_model(config, teacher_role, modality_dims, out_dim, strict=strict)
    common = {
        "task": task,
        "regression_loss": config.regression_loss,
        "distance": config.distill_distance or "mse",
    }
    if teacher is None or teacher_role is None:
        return InvertedTeacherStudent(None, student, layer_weights=config.layer_weights, **common)
    depth = min(DISTILLED_LAYERS, teacher_role.layers, student_role.layers)
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.hidden_layer_paths(depth),
        student_layers=student.hidden_layer_paths(depth),
        layer_weights=config.layer_weights[:depth],
        projector="always" if config.distill_projector == "linear" else "auto",
        **common,
    )
