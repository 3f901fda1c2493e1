"""Training recipes that fill the settings a user did not give: default < preset < --config
file < flag. Every field named here is None (= not given) in the schema until `apply_preset`.

``paper``: the paper's recipe (AdamW lr 5e-4, router 5e-3, batch 32, 100 epochs, constant
rate, no smoothing, no class weights, no early stopping, no utterance budget). ``default``: the
recipe chosen on validation WAF (IEMOCAP 4-class fold 5, real text;
benchmarks/experiments/recipe_search.py), with a budget of 1024 padded utterances per batch
(bounds memory; never splits an IEMOCAP batch of 8). Its distillation (cosine distance, a
teacher frozen after 10 epochs) was chosen on validation, where the paper's raw squared distance
grew all through training (docs/results/method-value.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iteach_app.config.errors import ConfigError

if TYPE_CHECKING:
    from iteach_app.config.schema import TrainConfig

PAPER: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 32,
    "lr": 5e-4,
    "router_lr": 5e-3,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "lr_schedule": "constant",
    "warmup_fraction": 0.0,
    "label_smoothing": 0.0,
    "class_weights": "none",
    "patience": 0,
    "max_utterances_per_batch": 0,
    "distill_distance": "mse",
    "teacher_epochs": 0,
}
DEFAULT: dict[str, Any] = {
    **PAPER,
    "epochs": 40,
    "batch_size": 8,
    "lr": 1e-3,
    "dropout": 0.3,
    "lr_schedule": "cosine",
    "warmup_fraction": 0.05,
    "label_smoothing": 0.1,
    "patience": 15,
    "max_utterances_per_batch": 1024,
    "distill_distance": "cosine",
    "teacher_epochs": 10,
}
PRESETS: dict[str, dict[str, Any]] = {"default": DEFAULT, "paper": PAPER}

FRAMEWORK_ROLES: dict[str, dict[str, Any]] = {
    "its": {"teacher": "attention", "teacher_layers": 3, "student": "nas", "student_layers": 4},
    "ts": {"teacher": "nas", "teacher_layers": 4, "student": "attention", "student_layers": 3},
    "pre": {"student": "attention", "student_layers": 4},
}
"""Each framework's teacher and student (model-registry names of kind encoder) and depths, as
the paper: ITS = 3-layer attention teacher + 4-layer NAS student; TS the other way round; PRE
the attention model alone, 4 layers (as the results script trains it)."""


def resolve_roles(config: TrainConfig) -> None:
    """Fill the teacher / student settings of an ``iteach`` config that are None from its
    framework, in place, naming each in ``resolved_by_preset``: the config then records what
    the run trains, and its hash still reads them as not given."""
    if config.model != "iteach":
        return
    for name, value in FRAMEWORK_ROLES.get(config.framework, {}).items():
        if getattr(config, name) is None:
            setattr(config, name, value)
            if name not in config.resolved_by_preset:  # a new list: copies share the old one
                config.resolved_by_preset = [*config.resolved_by_preset, name]


def apply_preset(config: TrainConfig) -> None:
    """Fill every field of ``config`` that is None and governed by its preset, in place."""
    recipe = PRESETS.get(config.preset)
    if recipe is None:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}; got {config.preset!r}")
    for name, value in recipe.items():
        if getattr(config, name) is None:
            setattr(config, name, value)
