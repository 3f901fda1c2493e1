"""Checks a run can make once its data is loaded, before its folder is written.

A run that cannot learn (one class, a single training class), asks for more than the data holds
(`keep_at_least` above the modality count) or names its folder outside `--out` is refused here,
not after its config, checkpoints and metrics exist. What is suspicious but trainable (a class
seen only in val / test, constant regression targets, class names that differ only in case or
spaces) comes back as warnings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath

import numpy as np

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.data import DataBundle


def check_run_name(name: str) -> str:
    """``name`` if it is one plain path component; `--name ../x`, ``/x``, ``a/b``, ``.``, ``..``
    and "" would put the run outside `--out` or make `--out` itself the run."""
    parts = PurePath(name).parts
    if not name.strip() or name in (".", "..") or len(parts) != 1 or "/" in name or "\\" in name:
        raise ConfigError(
            f"--name {name!r}: give a plain folder name (no '/', not '.' or '..', not empty); "
            "the run goes in --out/NAME"
        )
    return name


def check_keep_at_least(config: TrainConfig, num_modalities: int) -> None:
    """Refuse a `keep_at_least` above the number of modalities: it would mask nothing."""
    keep = config.keep_at_least
    if keep is not None and keep > num_modalities:
        raise ConfigError(
            f"keep_at_least {keep} is more than the {num_modalities} modalities of this data; "
            f"give at most {num_modalities}"
        )


def _class_name(data: DataBundle, index: int) -> str:
    names = data.dataset.label_names
    return repr(names[index]) if 0 <= index < len(names) else str(index)


def check_labels(data: DataBundle) -> list[str]:
    """Refuse labels a run cannot learn from; return warnings about suspicious ones."""
    if data.task == "classification":
        return _classification(data)
    return _regression(data)


def _classification(data: DataBundle) -> list[str]:
    name = data.dataset.name
    if data.out_dim < 2:
        raise ConfigError(
            f"{name}: every label is the same class ({data.out_dim} class); classification "
            "needs at least two"
        )
    train = {c: n for c, n in data.train.label_counts().items() if c >= 0}
    if len(train) < 2:
        only = ", ".join(_class_name(data, c) for c in train) or "none"
        raise ConfigError(
            f"{name}: the train split holds a single class ({only}) of {data.out_dim}; the model "
            "could learn nothing else (check the labels and the split column)"
        )
    warnings = []
    for part in ("val", "test"):
        unseen = sorted(c for c in getattr(data, part).label_counts() if c >= 0 and c not in train)
        if unseen:
            names = ", ".join(_class_name(data, c) for c in unseen)
            warnings.append(
                f"{name}: class(es) {names} appear in {part} but never in train; the model "
                "cannot predict them"
            )
    groups = Counter(" ".join(str(n).split()).casefold() for n in data.dataset.label_names)
    for key, count in groups.items():
        if count > 1:
            variants = [
                n for n in data.dataset.label_names if " ".join(n.split()).casefold() == key
            ]
            warnings.append(
                f"{name}: class names {', '.join(map(repr, variants))} differ only in case or "
                "spaces and are separate classes; fix the labels if they mean one class"
            )
    return warnings


def _regression(data: DataBundle) -> list[str]:
    values = np.concatenate([np.asarray(c.labels, dtype=np.float64) for c in data.train])
    values = values[np.isfinite(values)]
    if values.size and float(values.max()) == float(values.min()):
        return [
            f"{data.dataset.name}: every training target is {float(values[0]):g}; the model "
            "can learn only that constant"
        ]
    return []
