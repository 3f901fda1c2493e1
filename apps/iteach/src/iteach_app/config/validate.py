"""Cross-field rules of a TrainConfig (per-field types and bounds come from the schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iteach_app.config.errors import ConfigError
from iteach_app.config.model_catalog import role_choices
from iteach_app.config.presets import FRAMEWORK_ROLES, apply_preset, resolve_roles
from iteach_app.config.types import coerce_fields

if TYPE_CHECKING:
    from iteach_app.config.schema import TrainConfig


def validate(c: TrainConfig) -> TrainConfig:
    """Fill the preset's settings not given, coerce every field, then check the rules that tie
    fields together; raises ConfigError naming the first bad setting. Returns ``c``."""
    apply_preset(c)
    coerce_fields(c)
    _check_resolution(c)
    resolve_roles(c)
    if c.labels and c.conversations is None:
        raise ConfigError("labels (class names) apply to --conversations tables only")
    if c.conversations is not None:
        _check_conversations(c)
    elif c.synthetic is not None:
        if c.data is not None or c.dataset is not None:
            raise ConfigError("give either synthetic or data + dataset, not both")
        if c.fold is not None:
            raise ConfigError("fold applies to IEMOCAP data only, not to synthetic data")
        _check_modality_names(c.synthetic_dims, "synthetic_dims", f"synthetic {c.synthetic}")
    else:
        if c.data is None or c.dataset is None:
            raise ConfigError(
                "no data: give conversations (your own table) + features, data (a GCNet-layout "
                "folder) + dataset + features, or synthetic"
            )
        if not c.features:
            raise ConfigError("features is empty: give e.g. text=minilm-384-UTT")
        _check_modality_names(c.features, "features", c.dataset)
        if c.fold is not None and not c.dataset.startswith("IEMOCAP"):
            raise ConfigError(f"fold applies to IEMOCAP only; {c.dataset} has fixed splits")
    _check_models(c)
    _check_baseline(c)
    _check_distillation(c)
    if c.device not in ("auto", "cpu", "cuda") and not c.device.startswith("cuda:"):
        raise ConfigError(f"device must be cpu, cuda, cuda:N or auto; got {c.device!r}")
    if c.hidden_dim % c.num_heads:
        raise ConfigError(
            f"hidden_dim ({c.hidden_dim}) must be divisible by num_heads ({c.num_heads})"
        )
    if len(c.layer_weights) != 3:
        raise ConfigError(f"layer_weights needs 3 values (last 3 layers); got {c.layer_weights}")
    if not c.eval_rates:
        raise ConfigError("eval_rates is empty: give missing rates in [0, 1)")
    repeated = sorted({r for r in c.eval_rates if c.eval_rates.count(r) > 1})
    if repeated:
        raise ConfigError(f"eval_rates repeats {repeated[0]:g}: give each missing rate once")
    _check_schedule(c.mask_schedule)
    return c


# The modalities of the GCNet releases and of the built-in synthetic sets; your own
# conversations name theirs freely.
RELEASE_MODALITIES = ("text", "audio", "video")


def _check_modality_names(pairs: dict, field: str, source: str) -> None:
    """A modality name the data does not have (a typo such as ``txt``) is an error naming them."""
    unknown = [name for name in pairs if name not in RELEASE_MODALITIES]
    if unknown:
        raise ConfigError(
            f"{field}: {unknown[0]!r} is not a modality of {source}; valid names: "
            f"{', '.join(RELEASE_MODALITIES)}"
        )


def _check_conversations(c: TrainConfig) -> None:
    """Your own table: no other data source, no fold, features as modality=PATH."""
    others = [name for name in ("data", "dataset", "synthetic") if getattr(c, name) is not None]
    if others:
        raise ConfigError(f"give either conversations or {' / '.join(others)}, not both")
    if c.fold is not None:
        raise ConfigError("fold applies to IEMOCAP only; a conversations table has its own splits")
    if not c.features:
        raise ConfigError("features is empty: give e.g. text=text.npz,audio=audio_npy/")
    if len(set(c.labels)) != len(c.labels):
        raise ConfigError(f"labels repeats a class name: {c.labels}")


def _check_models(c: TrainConfig) -> None:
    """A teacher / student is an encoder of the framework (not a baseline: those are --model)."""
    for role in ("teacher", "student"):
        name = getattr(c, role)
        if name is not None and name not in role_choices():
            raise ConfigError(
                f"{role} must be one of {', '.join(role_choices())} (models a {role} can be); "
                f"got {name!r}"
            )


def _check_resolution(c: TrainConfig) -> None:
    from iteach_app.config.schema import ROLE_FIELDS

    odd = [name for name in c.resolved_by_preset if name not in ROLE_FIELDS]
    if odd:
        raise ConfigError(
            f"resolved_by_preset names {', '.join(odd)}; it may list only {', '.join(ROLE_FIELDS)}"
        )


def _check_baseline(c: TrainConfig) -> None:
    """A baseline trains alone: no teacher / student / depth settings; MMIN needs epochs after
    its pre-training phase."""
    if c.model == "iteach":
        return
    if c.causal:
        from iteach_app.model.baselines import BASELINES

        reason = BASELINES[c.model].future_context
        if reason:
            able = [name for name, cls in BASELINES.items() if not cls.future_context]
            raise ConfigError(
                f"causal: model {c.model!r} cannot be causal ({reason}); causal models: "
                f"iteach, {', '.join(able)}"
            )
    given = [k for k in ("teacher", "student", "teacher_layers", "student_layers") if getattr(c, k)]
    if given:
        raise ConfigError(
            f"model {c.model!r} trains alone with its original settings; drop "
            f"{', '.join(given)} (they apply to model 'iteach')"
        )
    if c.model == "mmin" and c.epochs <= c.mmin_pretrain_epochs:
        raise ConfigError(
            f"epochs ({c.epochs}) must exceed mmin_pretrain_epochs ({c.mmin_pretrain_epochs}): "
            "MMIN trains its teacher first, then itself"
        )


DEPTHS = {  # the presets' (teacher, student) layers
    name: (roles["teacher_layers"], roles["student_layers"])
    for name, roles in FRAMEWORK_ROLES.items()
    if "teacher" in roles
}


def _check_distillation(c: TrainConfig) -> None:
    """Distillation settings need a teacher, and a teacher and student at least as deep as the
    layers distilled (one per layer weight). A run without a teacher keeps the preset's distance
    (a resolved config holds it)."""
    teacher = DEPTHS.get(c.framework) if c.model == "iteach" else None
    if teacher is None:
        # distill_distance and teacher_epochs come from the preset, so every resolved config
        # holds them (unused without a teacher); the settings below are never filled in.
        given = [
            name
            for name, on in (("distill_on", c.distill_on != "missing"),
                             ("distill_projector", c.distill_projector != "none"))
            if on
        ]  # fmt: skip
        if given:
            which = f"model {c.model!r}" if c.model != "iteach" else "framework 'pre'"
            raise ConfigError(
                f"{', '.join(given)} set, but {which} trains without a teacher: nothing is "
                "distilled; use framework its or ts with model iteach, or drop them"
            )
        return
    depths = {
        "teacher_layers": c.teacher_layers or teacher[0],
        "student_layers": c.student_layers or teacher[1],
    }
    distilled = len(c.layer_weights)
    for name, depth in depths.items():
        if depth < distilled:
            raise ConfigError(
                f"{name} is {depth}, fewer than the {distilled} layers distilled (one per "
                f"layer_weights value): give {name} >= {distilled}, or framework pre"
            )


def _check_schedule(text: str) -> None:
    from missing_modality import parse_schedule

    try:
        parse_schedule(text)
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"mask_schedule {text!r}: {err} (use random, progressive or constant:R)"
        ) from None
