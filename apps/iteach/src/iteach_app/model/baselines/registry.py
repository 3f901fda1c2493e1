"""The five baselines in the model registry: ``create_model("ae" | "cra" | "mmin" | "gcnet" |
"cpm", modality_dims, out_dim, **hyperparameters)``; defaults are each original's (see its file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iteach_app.model.baselines import BASELINES
from iteach_app.model.baselines._common import IncompleteBaseline
from iteach_app.model.registry import register_model


def _builder(cls: type[IncompleteBaseline]) -> Any:
    def build(modality_dims: Mapping[str, int], out_dim: int, **hp: Any) -> IncompleteBaseline:
        return cls(modality_dims, out_dim, **hp)

    build.__doc__ = (
        f"The {cls.__name__} baseline with its original defaults (hyperparameters: **hp)."
    )
    return build


for _name, _cls in BASELINES.items():
    register_model(_name)(_builder(_cls))
