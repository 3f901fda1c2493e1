"""TrainConfig: every setting of a run, with the paper's defaults; TOML in, TOML/JSON out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

DEFAULT_RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
FRAMEWORKS = ("its", "ts", "pre")
MODEL_KINDS = ("transformer", "nas")
REAL_DATASETS = ("IEMOCAPFour", "IEMOCAPSix", "CMUMOSI", "CMUMOSEI")
SYNTHETIC_DATASETS = ("iemocap4", "iemocap6", "mosi")
ECCE_KINDS = ("full", "global", "none")
# Fields that do not change what a run computes: left out of the config hash.
_NOT_HASHED = ("device", "threads")


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message names it (and the file)."""


@dataclass
class TrainConfig:
    """All settings of one training run. Defaults are the paper's (ITEACH-Net on IEMOCAP)."""

    # data: a GCNet-layout folder (data + dataset + features) or a built-in synthetic set
    data: str | None = None
    dataset: str | None = None
    features: dict[str, str] = field(default_factory=dict)
    synthetic: str | None = None
    synthetic_dialogues: int | None = None
    synthetic_dims: dict[str, int] = field(default_factory=dict)
    synthetic_max_length: int | None = None
    fold: int | None = None
    val_fraction: float = 0.1
    cache_dir: str | None = None
    # framework and models
    framework: str = "its"
    teacher: str = "transformer"
    student: str = "nas"
    teacher_layers: int | None = None
    student_layers: int | None = None
    hidden_dim: int = 128
    num_heads: int = 8
    mlp_ratio: float = 4.0
    window: int = 7
    max_distance: int = 30
    ecce: str = "full"
    dropout: float = 0.1
    layer_weights: list[float] = field(default_factory=lambda: [0.5, 0.1, 0.05])
    # optimisation
    epochs: int = 100
    batch_size: int = 32
    lr: float = 5e-4
    router_lr: float = 5e-3
    weight_decay: float = 0.01
    grad_clip: float = 0.0
    mask_schedule: str = "random"
    keep_at_least: int = 1
    regression_loss: str = "mse"
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    checkpoint_every: int = 25
    # selection and evaluation
    select_on: str = "val"
    eval_rates: list[float] = field(default_factory=lambda: list(DEFAULT_RATES))
    eval_seed: int = 0

    # ------------------------------------------------------------------ derived
    @property
    def selected_on_test(self) -> bool:
        """True for the paper's IEMOCAP protocol (model selection on the test split)."""
        return self.select_on == "test"

    @property
    def dataset_label(self) -> str:
        """Short name of the data: the GCNet dataset name or ``synthetic-<name>``."""
        return f"synthetic-{self.synthetic}" if self.synthetic else str(self.dataset)

    def resolved_layers(self) -> tuple[int | None, int]:
        """(teacher layers or None for PRE, student layers): ITS 3/4, TS 4/3, PRE -/4 by default."""
        default_teacher, default_student = {"its": (3, 4), "ts": (4, 3), "pre": (None, 4)}[
            self.framework
        ]
        teacher = None if self.framework == "pre" else (self.teacher_layers or default_teacher)
        return teacher, self.student_layers or default_student

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of every field."""
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the settings that determine what a run computes."""
        payload = {k: v for k, v in self.to_dict().items() if k not in _NOT_HASHED}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def validate(self) -> TrainConfig:
        """Check every setting; raises ConfigError naming the first bad one. Returns self."""
        _validate(self)
        return self


FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))


def parse_features(text: str) -> dict[str, str]:
    """``"text=minilm-384-UTT,audio=covarep73-UTT"`` -> {"text": ..., "audio": ...}."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, folder = item.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ConfigError(
                f"--features: {item!r} is not MODALITY=FOLDER (e.g. text=minilm-384-UTT)"
            )
        if name.strip() in out:
            raise ConfigError(f"--features: modality {name.strip()!r} given twice")
        out[name.strip()] = folder.strip()
    if not out:
        raise ConfigError("--features: no MODALITY=FOLDER pair given")
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a config TOML into TrainConfig fields; an unknown key is an error naming it."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(raw) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(FIELD_NAMES)}"
        )
    return raw


def resolve(
    file_values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    source: str = "config",
) -> TrainConfig:
    """Defaults <- file values <- overrides (None = not given); the result is validated."""
    values: dict[str, Any] = {}
    for layer in (file_values or {}, overrides or {}):
        for key, value in layer.items():
            if key not in FIELD_NAMES:
                raise ConfigError(f"{source}: unknown setting {key!r}")
            if value is not None:
                values[key] = value
    try:
        config = TrainConfig(**values)
    except TypeError as err:  # pragma: no cover - keys are checked above
        raise ConfigError(f"{source}: {err}") from None
    _coerce(config, source)
    try:
        return config.validate()
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def from_run_dir(run_dir: str | Path) -> TrainConfig:
    """The resolved config a run folder was written with (its config.toml)."""
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise ConfigError(f"{path}: missing; {run_dir} is not an iteach-app run folder")
    return resolve(load_toml(path), source=str(path))


def write_config(config: TrainConfig, run_dir: str | Path) -> None:
    """Write config.toml and config.json (with the config hash) into the run folder."""
    from iteach_app.io import atomic_write_text

    run_dir = Path(run_dir)
    atomic_write_text(run_dir / "config.toml", to_toml(config))
    payload = {"config_hash": config.config_hash(), **config.to_dict()}
    atomic_write_text(run_dir / "config.json", json.dumps(payload, indent=2) + "\n")


def to_toml(config: TrainConfig) -> str:
    """TOML text of the config (unset optional values are left out; tables last)."""
    lines = [f"# iteach-app resolved config (hash {config.config_hash()})"]
    tables: list[str] = []
    for key, value in config.to_dict().items():
        if value is None:
            continue
        if isinstance(value, dict):
            if value:
                tables.append(f"\n[{key}]")
                tables.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines + tables) + "\n"


def _toml_key(key: str) -> str:
    bare = key.replace("-", "").replace("_", "").isalnum()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")


_INT_FIELDS = (
    "synthetic_dialogues",
    "synthetic_max_length",
    "fold",
    "teacher_layers",
    "student_layers",
    "hidden_dim",
    "num_heads",
    "window",
    "max_distance",
    "epochs",
    "batch_size",
    "keep_at_least",
    "seed",
    "checkpoint_every",
    "eval_seed",
    "threads",
)
_FLOAT_FIELDS = (
    "val_fraction",
    "mlp_ratio",
    "dropout",
    "lr",
    "router_lr",
    "weight_decay",
    "grad_clip",
)
_STR_FIELDS = (
    "data",
    "dataset",
    "synthetic",
    "cache_dir",
    "framework",
    "teacher",
    "student",
    "ecce",
    "mask_schedule",
    "regression_loss",
    "device",
    "select_on",
)


def _coerce(config: TrainConfig, source: str) -> None:
    """Check the type of every value, so a typo in a TOML file gives a clear error."""
    for name in _INT_FIELDS:
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{source}: {name} must be an integer, got {value!r}")
    for name in _FLOAT_FIELDS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {name} must be a number, got {value!r}")
        setattr(config, name, float(value))
    for name in _STR_FIELDS:
        value = getattr(config, name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{source}: {name} must be a string, got {value!r}")
    for name in ("layer_weights", "eval_rates"):
        value = getattr(config, name)
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{source}: {name} must be a list of numbers, got {value!r}")
        setattr(config, name, [float(v) for v in value])
    if not isinstance(config.features, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in config.features.items()
    ):
        raise ConfigError(f"{source}: features must map modality -> folder name")
    if not isinstance(config.synthetic_dims, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in config.synthetic_dims.items()
    ):
        raise ConfigError(f"{source}: synthetic_dims must map modality -> integer width")
    config.features = dict(config.features)
    config.synthetic_dims = dict(config.synthetic_dims)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be {bound}; got {value!r}")


def _validate(c: TrainConfig) -> None:
    if c.synthetic is not None:
        _choice("synthetic", c.synthetic, SYNTHETIC_DATASETS)
        if c.data is not None or c.dataset is not None:
            raise ConfigError("give either synthetic or data + dataset, not both")
        if c.fold is not None:
            raise ConfigError("fold applies to IEMOCAP data only, not to synthetic data")
    else:
        if c.data is None or c.dataset is None:
            raise ConfigError(
                "no data: give data (a GCNet-layout folder) + dataset + features, or synthetic"
            )
        _choice("dataset", c.dataset, REAL_DATASETS)
        if not c.features:
            raise ConfigError("features is empty: give e.g. text=minilm-384-UTT")
        if c.fold is not None:
            if not c.dataset.startswith("IEMOCAP"):
                raise ConfigError(f"fold applies to IEMOCAP only; {c.dataset} has fixed splits")
            if not 1 <= c.fold <= 5:
                raise ConfigError(f"fold must be 1..5 (the session tested); got {c.fold}")
    _choice("framework", c.framework, FRAMEWORKS)
    _choice("teacher", c.teacher, MODEL_KINDS)
    _choice("student", c.student, MODEL_KINDS)
    _choice("ecce", c.ecce, ECCE_KINDS)
    _choice("regression_loss", c.regression_loss, ("mse", "mae"))
    _choice("select_on", c.select_on, ("val", "test"))
    if c.device not in ("auto", "cpu", "cuda") and not c.device.startswith("cuda:"):
        raise ConfigError(f"device must be cpu, cuda, cuda:N or auto; got {c.device!r}")
    for name in (
        "synthetic_dialogues",
        "synthetic_max_length",
        "threads",
        "teacher_layers",
        "student_layers",
        "hidden_dim",
        "num_heads",
        "window",
        "max_distance",
        "epochs",
        "batch_size",
        "lr",
        "router_lr",
    ):
        _positive(name, getattr(c, name))
    _positive("keep_at_least", c.keep_at_least, allow_zero=True)
    for name in ("weight_decay", "grad_clip", "checkpoint_every"):
        _positive(name, getattr(c, name), allow_zero=True)
    for name, width in c.synthetic_dims.items():
        _positive(f"synthetic_dims.{name}", width)
    if not 0.0 <= c.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1); got {c.dropout}")
    if not 0.0 <= c.val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1); got {c.val_fraction}")
    if c.hidden_dim % c.num_heads:
        raise ConfigError(
            f"hidden_dim ({c.hidden_dim}) must be divisible by num_heads ({c.num_heads})"
        )
    if c.window % 2 == 0:
        raise ConfigError(f"window must be odd (a centred span of utterances); got {c.window}")
    if len(c.layer_weights) != 3:
        raise ConfigError(f"layer_weights needs 3 values (last 3 layers); got {c.layer_weights}")
    if not c.eval_rates or not all(0.0 <= r < 1.0 for r in c.eval_rates):
        raise ConfigError(f"eval_rates must be missing rates in [0, 1); got {c.eval_rates}")
    _check_schedule(c.mask_schedule)


def _check_schedule(text: str) -> None:
    from missing_modality import parse_schedule

    try:
        parse_schedule(text)
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"mask_schedule {text!r}: {err} (use random, progressive or constant:R)"
        ) from None
