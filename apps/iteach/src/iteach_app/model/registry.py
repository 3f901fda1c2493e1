"""Model registry: one table from a name to the function (or class) that builds that model, with
the model's display label, its paper parameter count (Table 3) and its kind.

A model is one decorated function or class in one file,
``@register_model("name", label="Name", paper_parameters=1.2e6)``, taking
``(modality_dims, out_dim, **settings)`` and returning an `nn.Module` whose forward takes
``features, utterance_mask, present`` (and ``speakers`` when its class sets
``uses_speakers = True``). The file needs no other edit anywhere: the CLI reads the same
decorator without importing torch (config/model_catalog.py), model/__init__.py imports every
model file, and the ``--model`` choices, ``iteach-app params``, titles and figure labels read
this table. `create_model(name, ...)` is the only way the app builds a model; an unknown name
raises naming the known ones.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from iteach_app.config.model_catalog import APP, KINDS, model_files

ModelFn = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: builder, display label, the paper's parameter count (None where the
    paper gives none) and kind (framework / baseline / encoder / preset)."""

    name: str
    fn: ModelFn
    label: str
    paper_parameters: float | None
    kind: str

    def accepted_settings(self) -> frozenset[str] | None:
        """Keyword names the builder takes (None: any, a builder whose target is unknown)."""
        return accepted_settings(self.fn)


_MODELS: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    *,
    label: str | None = None,
    paper_parameters: float | None = None,
    kind: str = "baseline",
) -> Callable[[ModelFn], ModelFn]:
    """Decorator: register ``fn`` under ``name`` (a second builder for one name is an error).
    Give literal arguments: the CLI reads them from the file without running it."""
    if kind not in KINDS:
        raise ValueError(f"model {name!r}: kind must be one of {', '.join(KINDS)}; got {kind!r}")

    def decorate(fn: ModelFn) -> ModelFn:
        if name in _MODELS and _MODELS[name].fn is not fn:
            raise ValueError(f"model name {name!r} is already registered by {_MODELS[name].fn}")
        _MODELS[name] = ModelEntry(name, fn, label or name, paper_parameters, kind)
        return fn

    return decorate


def model_names() -> tuple[str, ...]:
    """Every registered model name, sorted."""
    return tuple(sorted(_MODELS))


def model_entries(*kinds: str) -> dict[str, ModelEntry]:
    """Registered models of the given kinds (all without kinds), in registration order."""
    return {n: e for n, e in _MODELS.items() if not kinds or e.kind in kinds}


def model_entry(name: str) -> ModelEntry:
    """The registration of ``name``; an unknown name raises naming the registered ones."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(model_names())}")
    return _MODELS[name]


def create_model(
    name: str, modality_dims: Mapping[str, int], out_dim: int, **kwargs: Any
) -> nn.Module:
    """Build the model registered as ``name``; keyword arguments that are None are dropped
    (None = not given = the preset's default)."""
    entry = model_entry(name)
    given = {key: value for key, value in kwargs.items() if value is not None}
    return entry.fn(dict(modality_dims), out_dim, **given)


def accepted_settings(fn: ModelFn) -> frozenset[str] | None:
    """Keyword names ``fn`` accepts after ``(modality_dims, out_dim)``. A builder function with
    ``**kwargs`` forwards them to the class it returns (its return annotation), whose
    constructor is read instead; None (any) when that class cannot be found."""
    target: Any = fn
    if not isinstance(fn, type) and _takes_any(fn):
        target = typing.get_type_hints(fn).get("return")
        if not isinstance(target, type):
            return None
    if _takes_any(target):
        return None
    params = list(inspect.signature(target).parameters.values())[2:]
    return frozenset(p.name for p in params if p.kind is not p.VAR_POSITIONAL)


def _takes_any(fn: Any) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())


def import_model_files() -> None:
    """Import every model file the catalog lists, so each registers itself: adding a model is
    adding its file. A file outside the app (a folder added to the catalog) is imported under
    its stem."""
    for path in model_files():
        relative = path.relative_to(APP.parent) if path.is_relative_to(APP.parent) else None
        if relative is not None:
            importlib.import_module(".".join(relative.with_suffix("").parts))
            continue
        name = f"iteach_app_models.{path.stem}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
            raise ImportError(f"{path}: cannot import this model file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


class RegistryView(Mapping[str, Any]):
    """A read-only, live view of the registry: ``{name: read(entry)}`` for the models of
    ``kinds``; the old side tables (BASELINES, PAPER_PARAMETERS) are such views."""

    def __init__(self, kinds: tuple[str, ...], read: Callable[[ModelEntry], Any]) -> None:
        self._kinds, self._read = kinds, read

    def __getitem__(self, name: str) -> Any:
        entry = _MODELS.get(name)
        if entry is None or entry.kind not in self._kinds:
            raise KeyError(name)
        return self._read(entry)

    def __iter__(self) -> Iterator[str]:
        return iter(model_entries(*self._kinds))

    def __len__(self) -> int:
        return len(model_entries(*self._kinds))

    def __repr__(self) -> str:
        return repr(dict(self))
