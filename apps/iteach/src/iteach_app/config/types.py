"""Per-field checks read from the dataclass: each value is coerced to its field's type hint
(Literal -> one of its choices, int, float, str, list[float], dict[str, X]) and held to the
field's bounds. A wrong value raises ConfigError naming the field, the value and what fits."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
import warnings
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from iteach_app.config.errors import ConfigError
from iteach_app.config.schema import LEGACY_VALUES

# One name per concept: "attention". The old config word is accepted with a warning.
DEPRECATED_VALUES = {
    ("teacher", "transformer"): "attention",
    ("student", "transformer"): "attention",
}


def coerce_fields(config: Any) -> None:
    """Coerce and bound-check every field of the dataclass instance ``config`` in place."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        name, value = f.name, getattr(config, f.name)
        replacement = DEPRECATED_VALUES.get((name, value)) if isinstance(value, str) else None
        if replacement is not None:
            warnings.warn(
                f"{name} = {value!r} is deprecated; use {replacement!r}",
                FutureWarning,
                stacklevel=2,
            )
            value = replacement
        if isinstance(value, str) and (name, value) in LEGACY_VALUES:
            value = LEGACY_VALUES[name, value]  # an old config's spelling, read silently
        value = coerce(name, hints[name], value)
        if "choices" in f.metadata and value is not None:
            allowed = f.metadata["choices"]()
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        check_bounds(name, value, f.metadata)
        setattr(config, name, value)


def coerce(name: str, hint: Any, value: Any) -> Any:
    """``value`` as type ``hint`` (None allowed only where the hint is optional)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return coerce(name, inner, value)
    if value is None:
        raise ConfigError(f"{name} must be given (got nothing)")
    if hint is Any:
        if not isinstance(value, (bool, int, float, str, list)):
            raise ConfigError(f"{name} must be a number, string, boolean or list, got {value!r}")
        return value
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, args))}; got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) and hint in (int, float):
        raise ConfigError(f"{name} must be {_word(hint)}, got {value!r}")
    if hint is int:
        if not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return value
    if hint is float:
        if not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        return [coerce(f"{name}[{i}]", args[0], v) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must map modality -> {_word(args[1])}, got {value!r}")
        return {
            coerce(f"{name} key", args[0], k): coerce(f"{name}.{k}", args[1], v)
            for k, v in value.items()
        }
    raise ConfigError(f"{name}: no coercion for type {hint}")  # pragma: no cover - schema bug


def check_bounds(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    """Hold a number (or each number of a list / dict) to the field's gt / ge / lt / le / odd."""
    items = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    )
    for item in items:
        if item is None or isinstance(item, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"{name} must be a finite number; got {value!r}")
        for key, fails, text in (
            ("gt", lambda v, b: v <= b, "> {}"),
            ("ge", lambda v, b: v < b, ">= {}"),
            ("lt", lambda v, b: v >= b, "< {}"),
            ("le", lambda v, b: v > b, "<= {}"),
        ):
            if key in meta and fails(item, meta[key]):
                raise ConfigError(f"{name} must be {text.format(meta[key])}; got {value!r}")
        if meta.get("odd") and item % 2 == 0:
            raise ConfigError(f"{name} must be odd (a centred span of utterances); got {value!r}")


def _word(hint: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))
