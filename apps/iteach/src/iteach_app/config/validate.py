"""Cross-field rules of a TrainConfig (per-field types and bounds come from the schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iteach_app.config.errors import ConfigError
from iteach_app.config.presets import apply_preset
from iteach_app.config.types import coerce_fields

if TYPE_CHECKING:
    from iteach_app.config.schema import TrainConfig


def validate(c: TrainConfig) -> TrainConfig:
    """Fill the preset's settings not given, coerce every field, then check the rules that tie
    fields together; raises ConfigError naming the first bad setting. Returns ``c``."""
    apply_preset(c)
    coerce_fields(c)
    if c.labels and c.conversations is None:
        raise ConfigError("labels (class names) apply to --conversations tables only")
    if c.conversations is not None:
        _check_conversations(c)
    elif c.synthetic is not None:
        if c.data is not None or c.dataset is not None:
            raise ConfigError("give either synthetic or data + dataset, not both")
        if c.fold is not None:
            raise ConfigError("fold applies to IEMOCAP data only, not to synthetic data")
    else:
        if c.data is None or c.dataset is None:
            raise ConfigError(
                "no data: give conversations (your own table) + features, data (a GCNet-layout "
                "folder) + dataset + features, or synthetic"
            )
        if not c.features:
            raise ConfigError("features is empty: give e.g. text=minilm-384-UTT")
        if c.fold is not None and not c.dataset.startswith("IEMOCAP"):
            raise ConfigError(f"fold applies to IEMOCAP only; {c.dataset} has fixed splits")
    _check_models(c)
    _check_baseline(c)
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
    _check_schedule(c.mask_schedule)
    return c


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
    from iteach_app.model import model_names

    for role in ("teacher", "student"):
        name = getattr(c, role)
        if name is not None and name not in model_names():
            raise ConfigError(f"{role} must be one of {', '.join(model_names())}; got {name!r}")


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


def _check_schedule(text: str) -> None:
    from missing_modality import parse_schedule

    try:
        parse_schedule(text)
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"mask_schedule {text!r}: {err} (use random, progressive or constant:R)"
        ) from None
