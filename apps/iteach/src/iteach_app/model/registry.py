"""Model registry: one table from a name to the function that builds that model.

A model is one decorated function, `@register_model("name")`, taking
`(modality_dims, out_dim, **kwargs)` and returning an `nn.Module` whose forward takes
`features, utterance_mask, present` (and `speakers` when its class sets `uses_speakers = True`).
`create_model(name, ...)` is the only way the app builds a model, so a baseline slots in beside
ITEACH-Net by registering itself; an unknown name raises naming the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

ModelFn = Callable[..., nn.Module]
_MODELS: dict[str, ModelFn] = {}


def register_model(name: str) -> Callable[[ModelFn], ModelFn]:
    """Decorator: register ``fn`` under ``name`` (a second function for one name is an error)."""

    def decorate(fn: ModelFn) -> ModelFn:
        if name in _MODELS and _MODELS[name] is not fn:
            raise ValueError(f"model name {name!r} is already registered by {_MODELS[name]}")
        _MODELS[name] = fn
        return fn

    return decorate


def model_names() -> tuple[str, ...]:
    """Every registered model name, sorted."""
    return tuple(sorted(_MODELS))


def create_model(
    name: str, modality_dims: Mapping[str, int], out_dim: int, **kwargs: Any
) -> nn.Module:
    """Build the model registered as ``name``; keyword arguments that are None are dropped
    (None = not given = the preset's default)."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(model_names())}")
    given = {key: value for key, value in kwargs.items() if value is not None}
    return _MODELS[name](dict(modality_dims), out_dim, **given)
