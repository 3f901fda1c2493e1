"""A sweep file (TOML): ``[base]`` settings as in ``train --config``, ``[axes]`` whose every key is
a setting and whose value is the list of values to cross, an optional ``[compare]`` (``axis`` and
its ``reference`` value: paired statistics of the other values against it) and an optional
``[search]`` (the tuner's space: ``lr = { type = "float", low = 1e-4, high = 3e-3, log = true }``,
``{ type = "int", low = 2, high = 6 }``, ``{ type = "categorical", choices = [...] }``).

Everything is checked when the file is read, before any run starts: an unknown setting or an
out-of-range value is an error naming the table and key (``[axes] epochs = 0: ...``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iteach_app.config import FIELD_NAMES, ConfigError, TrainConfig, resolve
from iteach_app.config.schema import FIELDS, LEGACY_SETTINGS, UNHASHED
from iteach_app.config.toml_io import read_toml

TABLES = ("base", "axes", "compare", "search")
SEARCH_TYPES = ("float", "int", "categorical")
# Axes whose values repeat an experiment rather than change it: a summary row averages over them.
REPLICATE_AXES = ("seed", "fold")


@dataclass(frozen=True)
class SearchDim:
    """One tuned setting: a float or int range (``log`` scale, optional ``step``) or choices."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid: its axis values and its validated config."""

    values: dict[str, Any]
    config: TrainConfig

    @property
    def config_hash(self) -> str:
        return self.config.config_hash()


@dataclass
class SweepSpec:
    """A parsed, checked sweep file."""

    path: Path
    base: dict[str, Any]
    axes: dict[str, list[Any]]
    compare_axis: str | None = None
    compare_reference: Any = None
    search: dict[str, SearchDim] = field(default_factory=dict)

    @property
    def setting_axes(self) -> list[str]:
        """The axes that change the experiment (not seed or fold): one summary row per value."""
        return [axis for axis in self.axes if axis not in REPLICATE_AXES]

    def runs(self) -> list[SweepRun]:
        """Every point of the grid, in the file's axis order (the last axis varies fastest)."""
        names = list(self.axes)
        out = []
        for combo in itertools.product(*(self.axes[n] for n in names)):
            values = dict(zip(names, combo, strict=True))
            out.append(SweepRun(values, self.resolve(values, _where(values))))
        return out

    def resolve(self, values: Mapping[str, Any], where: str) -> TrainConfig:
        """The base settings with ``values`` on top, validated; an error names ``where``.
        Relative paths are made absolute (from the current folder): a run may execute in
        another process, folder or machine."""
        merged = absolute_paths({**self.base, **values})
        return resolve(merged, source=f"{self.path}: {where}")


PATH_SETTINGS = ("data", "cache_dir", "conversations")


def absolute_paths(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the path settings (and, for a conversations table, the feature paths)
    made absolute."""
    out = dict(values)
    for key in PATH_SETTINGS:
        if isinstance(out.get(key), str):
            out[key] = str(Path(out[key]).expanduser().absolute())
    if out.get("conversations") and isinstance(out.get("features"), dict):
        out["features"] = {
            k: str(Path(v).expanduser().absolute()) if isinstance(v, str) else v
            for k, v in out["features"].items()
        }
    return out


def _where(values: Mapping[str, Any]) -> str:
    return "[axes] " + ", ".join(f"{k} = {v!r}" for k, v in values.items())


def load_sweep(path: str | Path, *, need_axes: bool = True) -> SweepSpec:
    """Read and check a sweep file (``need_axes=False`` for the tuner, which reads [search])."""
    path = Path(path)
    raw = read_toml(path, "sweep")
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(unknown)}; a sweep file has "
            f"{', '.join(f'[{t}]' for t in TABLES)}"
        )
    for table in TABLES:
        if table in raw and not isinstance(raw[table], dict):
            raise ConfigError(f"{path}: {table} must be a table ([{table}])")
    base = dict(raw.get("base", {}))
    _check_names(path, "base", base)
    axes = _axes(path, raw.get("axes", {}), need_axes)
    spec = SweepSpec(path, base, axes, search=_search(path, raw.get("search", {})))
    _check_values(spec)
    _compare(spec, raw.get("compare", {}))
    if need_axes:
        _check_unique(spec)  # resolves every point of the grid
    else:
        spec.resolve({}, "[base]")
    for name, dim in spec.search.items():
        _check_dim(spec, name, dim)
    return spec


def _check_names(path: Path, table: str, values: Mapping[str, Any]) -> None:
    for key in values:
        if key not in FIELD_NAMES and key not in LEGACY_SETTINGS:  # old names: read as new
            raise ConfigError(
                f"{path}: [{table}] {key}: unknown setting; valid: {', '.join(FIELD_NAMES)}"
            )


def _axes(path: Path, raw: Mapping[str, Any], need_axes: bool) -> dict[str, list[Any]]:
    _check_names(path, "axes", raw)
    if need_axes and not raw:
        raise ConfigError(f"{path}: [axes] is empty; give at least one setting and its values")
    axes: dict[str, list[Any]] = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{path}: [axes] {key} must be a non-empty list of values, e.g. {key} = [..]"
            )
        if key in UNHASHED:
            raise ConfigError(
                f"{path}: [axes] {key} does not change what a run computes (it is not in the "
                "config hash); set it in [base]"
            )
        axes[key] = values
    return axes


def _check_values(spec: SweepSpec) -> None:
    """Each axis value alone on the base (the other axes at their first value)."""
    first = {axis: values[0] for axis, values in spec.axes.items()}
    for axis, values in spec.axes.items():
        for value in values:
            spec.resolve({**first, axis: value}, f"[axes] {axis} = {value!r}")


def _check_unique(spec: SweepSpec) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for run in spec.runs():
        other = seen.setdefault(run.config_hash, run.values)
        if other is not run.values:
            raise ConfigError(
                f"{spec.path}: {_where(run.values)} computes the same run as {_where(other)} "
                f"(config hash {run.config_hash}); drop the repeated value"
            )


def _compare(spec: SweepSpec, raw: Mapping[str, Any]) -> None:
    if not raw:
        return
    unknown = sorted(set(raw) - {"axis", "reference"})
    if unknown or "axis" not in raw or "reference" not in raw:
        raise ConfigError(
            f'{spec.path}: [compare] takes axis and reference, e.g. axis = "framework", '
            'reference = "pre"'
        )
    axis, reference = raw["axis"], raw["reference"]
    if axis not in spec.axes:
        raise ConfigError(f"{spec.path}: [compare] axis {axis!r} is not one of the [axes]")
    if reference not in spec.axes[axis]:
        raise ConfigError(
            f"{spec.path}: [compare] reference {reference!r} is not a value of [axes] {axis} "
            f"({spec.axes[axis]})"
        )
    spec.compare_axis, spec.compare_reference = axis, reference


def _search(path: Path, raw: Mapping[str, Any]) -> dict[str, SearchDim]:
    _check_names(path, "search", raw)
    out = {}
    for name, entry in raw.items():
        where = f"{path}: [search] {name}"
        if not isinstance(entry, dict) or entry.get("type") not in SEARCH_TYPES:
            raise ConfigError(
                f"{where}: give an inline table with type = one of {', '.join(SEARCH_TYPES)}, "
                f'e.g. {name} = {{ type = "float", low = 0.1, high = 0.5 }}'
            )
        allowed = (
            {"type", "choices"}
            if entry["type"] == "categorical"
            else {"type", "low", "high", "log", "step"}
        )
        extra = sorted(set(entry) - allowed)
        if extra:
            kind = entry["type"]
            raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)} for type {kind}")
        if entry["type"] == "categorical":
            choices = entry.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ConfigError(f"{where}: choices must be a non-empty list")
            out[name] = SearchDim(name, "categorical", choices=tuple(choices))
            continue
        low, high = _bounds(where, name, entry)
        log = bool(entry.get("log", False))
        if not low < high:
            raise ConfigError(f"{where}: low ({low}) must be below high ({high})")
        if log and low <= 0:
            raise ConfigError(f"{where}: a log scale needs low > 0; got {low}")
        out[name] = SearchDim(name, entry["type"], low, high, log, entry.get("step"))
    return out


def _bounds(where: str, name: str, entry: Mapping[str, Any]) -> tuple[float, float]:
    """low / high from the entry, else from the schema's bounds (ge / le, or gt / lt nudged)."""
    meta = FIELDS[name].metadata
    integer = entry["type"] == "int"
    nudge = 1 if integer else 1e-6
    schema_low = meta.get("ge", None if "gt" not in meta else meta["gt"] + nudge)
    schema_high = meta.get("le", None if "lt" not in meta else meta["lt"] - nudge)
    low, high = entry.get("low", schema_low), entry.get("high", schema_high)
    for side, value in (("low", low), ("high", high)):
        if value is None:
            raise ConfigError(f"{where}: give {side} (the schema does not bound {name} there)")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            raise ConfigError(f"{where}: {side} must be a number; got {value!r}")
        if integer and int(value) != value:
            raise ConfigError(f"{where}: {side} must be a whole number for type int; got {value}")
    return (int(low), int(high)) if integer else (float(low), float(high))


def _check_dim(spec: SweepSpec, name: str, dim: SearchDim) -> None:
    """Every end of the range (or every choice) must be a valid value of the setting."""
    values = dim.choices if dim.kind == "categorical" else (dim.low, dim.high)
    for value in values:
        spec.resolve({name: value}, f"[search] {name} = {value!r}")
