"""Several runs from one command: --fold / --seed lists, one config each, their summary."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.config.schema import MAX_SEED
from iteach_app.config.validate import validate
from iteach_app.training.run_folder import SELECTION_METRIC
from missing_modality import UMEResult


def parse_int_list(text: str | None, name: str, *, all_values: Sequence[int] = ()) -> list[int]:
    """``"5"``, ``"1,2,3"`` or ``"all"`` -> ints; None -> [] (meaning: the config's value)."""
    if text is None:
        return []
    if text.strip().lower() == "all":
        if not all_values:
            raise ConfigError(f"--{name} all: no list of values is known here")
        return list(all_values)
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--{name}: {text!r} is not an integer or a comma-separated list"
        ) from None
    if not values:
        raise ConfigError(f"--{name}: no value given")
    negative = [v for v in values if v < 0]
    if negative:
        raise ConfigError(f"--{name}: {negative[0]} is negative; give values >= 0")
    huge = [v for v in values if v > MAX_SEED]
    if huge:
        raise ConfigError(f"--{name}: {huge[0]} is larger than {MAX_SEED} (a 63-bit integer)")
    repeated = [v for k, v in enumerate(values) if v in values[:k]]
    if repeated:
        raise ConfigError(f"--{name}: {repeated[0]} is given twice; each run needs its own value")
    return values


def expand(config: TrainConfig, folds: Sequence[int], seeds: Sequence[int]) -> list[TrainConfig]:
    """One validated config per (fold, seed) pair; empty lists keep the config's own value."""
    out = []
    for fold in folds or [config.fold]:
        for seed in seeds or [config.seed]:
            out.append(validate(dataclasses.replace(config, fold=fold, seed=seed)))
    return out


def summary_table(results: dict[str, UMEResult]) -> str:
    """Markdown: UME average and decline of the selection metric per run, then mean and std."""
    first = next(iter(results.values()))
    key = SELECTION_METRIC[first.task]
    lines = [f"| run | {key} average | {key} decline |", "|---|---:|---:|"]
    for name, result in results.items():
        lines.append(f"| {name} | {result.average[key]:.4f} | {result.decline[key]:.4f} |")
    if len(results) > 1:
        averages = [r.average[key] for r in results.values()]
        declines = [r.decline[key] for r in results.values()]
        lines.append(
            f"| mean ± std | {statistics.mean(averages):.4f} ± {statistics.stdev(averages):.4f} "
            f"| {statistics.mean(declines):.4f} ± {statistics.stdev(declines):.4f} |"
        )
    return "\n".join(lines) + "\n"
