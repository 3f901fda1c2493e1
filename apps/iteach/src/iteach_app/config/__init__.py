"""The run's settings: the schema (one dataclass), TOML in and out, presets, checks."""

from iteach_app.config.errors import ConfigError
from iteach_app.config.schema import (
    FIELD_NAMES,
    REAL_DATASETS,
    SYNTHETIC_DATASETS,
    TrainConfig,
)
from iteach_app.config.toml_io import load_toml, parse_pairs, resolve, to_toml
from iteach_app.config.validate import validate

__all__ = [
    "FIELD_NAMES",
    "REAL_DATASETS",
    "SYNTHETIC_DATASETS",
    "ConfigError",
    "TrainConfig",
    "load_toml",
    "parse_pairs",
    "resolve",
    "to_toml",
    "validate",
]
