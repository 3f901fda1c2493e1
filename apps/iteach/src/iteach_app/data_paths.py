"""Where a run's data lives: absolute, resolved paths in the run's config, and a fallback relative
to the run folder, so a run opens from any working folder and after the run folder is moved
together with its data (the relative layout kept).

The path settings are ``data``, ``cache_dir``, ``conversations`` and, for your own conversations,
the ``features`` values (files or folders; a GCNet release names feature folders inside ``data``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iteach_app.config import TrainConfig

PATH_FIELDS = ("data", "cache_dir", "conversations")


def _paths(config: TrainConfig) -> dict[str, str]:
    """``{key: path}`` of every path the config holds; feature keys are ``features.<modality>``."""
    found = {name: getattr(config, name) for name in PATH_FIELDS if getattr(config, name)}
    if config.data_source == "conversations":
        found |= {f"features.{m}": path for m, path in config.features.items()}
    return found


def _replace(config: TrainConfig, paths: dict[str, str]) -> TrainConfig:
    plain = {k: v for k, v in paths.items() if not k.startswith("features.")}
    features = dict(config.features)
    for key, value in paths.items():
        if key.startswith("features."):
            features[key.removeprefix("features.")] = value
    return dataclasses.replace(config, **plain, features=features)


def absolute_paths(config: TrainConfig) -> TrainConfig:
    """``config`` with each data path made absolute and resolved (``~`` expanded), against the
    current working folder as given on the command line."""
    paths = _paths(config)
    if not paths:
        return config
    return _replace(config, {k: str(Path(p).expanduser().resolve()) for k, p in paths.items()})


def relative_paths(config: TrainConfig, run_dir: str | Path) -> dict[str, str]:
    """Each data path of ``config`` relative to ``run_dir`` (e.g. ``../../data/talk.csv``)."""
    base = Path(run_dir).resolve()
    return {k: os.path.relpath(Path(p).resolve(), base) for k, p in _paths(config).items()}


def locate_data(config: TrainConfig, run_dir: str | Path, relative: dict[str, str]) -> TrainConfig:
    """``config`` with every data path that no longer exists replaced by its ``relative``
    fallback (against ``run_dir``) where that one exists; other paths are kept as they are, so
    an error names the path the run recorded."""
    moved = {}
    for key, path in _paths(config).items():
        if Path(path).exists() or key not in relative:
            continue
        candidate = Path(run_dir) / relative[key]
        if candidate.exists():
            moved[key] = str(candidate.resolve())
    return _replace(config, moved) if moved else config
