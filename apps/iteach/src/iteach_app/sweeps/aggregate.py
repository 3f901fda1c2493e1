"""The sweep's one table: per setting (the axes other than seed and fold), the mean ± std over
its finished runs of the complete-data score, the UME average and the decline of the selection
metric (WAF; binary WAF for MOSI / MOSEI); then, with a ``[compare]`` table, paired differences
of each value of the compared axis against its reference, paired by every other axis (e.g.
framework its − pre paired by data, fold and seed), with a bootstrap 95% interval.

`paired_statistics` is the one call that computes a paired comparison; it can be swapped for
another function of the same signature.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from iteach_app.report.paired import bootstrap_interval
from iteach_app.sweeps.runner import SweepFolder
from iteach_app.sweeps.spec import SweepSpec
from iteach_app.training.run_folder import SELECTION_METRIC, RunFolder

SCORES = ("complete", "average", "decline")


@dataclass(frozen=True)
class RunScore:
    """One finished run: its axis values, scores on the test split and compute seconds."""

    config_hash: str
    values: dict[str, Any]
    metric: str
    complete: float
    average: float
    decline: float
    seconds: float
    epochs: int


@dataclass(frozen=True)
class PairedStats:
    """Paired differences a − b: count, mean, bootstrap 95% interval, how often a > b."""

    pairs: int
    mean: float
    low: float
    high: float
    wins: int


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0
) -> PairedStats:
    """Mean of ``a[i] - b[i]`` and the percentile bootstrap 95% interval of that mean, by the
    same bootstrap as `iteach-app compare` (report/paired.py: fixed seed, the same table every
    time)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"paired statistics need equal, non-empty lists; got {len(a)}, {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    low, high = bootstrap_interval(diffs, resamples=resamples, seed=seed)
    wins = sum(d > 0 for d in diffs)
    return PairedStats(len(diffs), statistics.fmean(diffs), low, high, wins)


paired_statistics = paired_bootstrap


def collect(spec: SweepSpec, folder: SweepFolder) -> list[RunScore]:
    """The finished runs of the grid (those without a final result are left out)."""
    scores = []
    for run in spec.runs():
        run_folder = RunFolder(folder.run_dir(run))
        if run_folder.finished_hash() != run.config_hash:
            continue
        ume = run_folder.read_ume()
        key = SELECTION_METRIC[ume.task]
        history = run_folder.read_history()
        seconds = sum(r.get("seconds", 0.0) + r.get("eval_seconds", 0.0) for r in history)
        scores.append(
            RunScore(
                run.config_hash,
                run.values,
                key,
                ume.per_rate[0][key],
                ume.average[key],
                ume.decline[key],
                seconds,
                len(history),
            )
        )
    return scores


def _fmt(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def _by_setting(spec: SweepSpec, scores: list[RunScore]) -> list[list[RunScore]]:
    """The finished runs grouped by their setting (axis values other than seed and fold)."""
    groups: dict[str, list[RunScore]] = {}
    for score in scores:
        groups.setdefault(_key(score.values, spec.setting_axes), []).append(score)
    return list(groups.values())


def summary_rows(spec: SweepSpec, scores: list[RunScore]) -> list[dict[str, Any]]:
    """One row per setting: its axis values, run count and the three scores' mean and std."""
    rows = []
    for group in _by_setting(spec, scores):
        row: dict[str, Any] = {a: group[0].values[a] for a in spec.setting_axes}
        row["runs"] = len(group)
        row["metric"] = group[0].metric
        for name in SCORES:
            values = [getattr(s, name) for s in group]
            row[name] = statistics.fmean(values)
            row[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row["seconds"] = statistics.fmean(s.seconds for s in group)
        rows.append(row)
    return rows


def paired_rows(spec: SweepSpec, scores: list[RunScore]) -> list[dict[str, Any]]:
    """Per group of the other setting axes and per non-reference value v of the compared
    axis: `paired_statistics` of v against the reference on each score."""
    axis, reference = spec.compare_axis, spec.compare_reference
    if axis is None:
        return []
    others = [a for a in spec.setting_axes if a != axis]
    index = {
        (_key(s.values, [k for k in s.values if k != axis]), _key(s.values, [axis])): s
        for s in scores
    }
    rows = []
    groups = {_key(s.values, others): [s.values[a] for a in others] for s in scores}
    for group, group_values in groups.items():
        for value in (v for v in spec.axes[axis] if v != reference):
            pairs = []
            for score in scores:
                if _key(score.values, [axis]) != json.dumps([value]) or (
                    _key(score.values, others) != group
                ):
                    continue
                rest = _key(score.values, [k for k in score.values if k != axis])
                partner = index.get((rest, json.dumps([reference])))
                if partner is not None:
                    pairs.append((score, partner))
            if not pairs:
                continue
            row: dict[str, Any] = dict(zip(others, group_values, strict=True))
            row["comparison"] = f"{axis} {value} − {reference}"
            for name in SCORES:
                stats = paired_statistics(
                    [getattr(a, name) for a, _ in pairs], [getattr(b, name) for _, b in pairs]
                )
                row[name] = asdict(stats)
            rows.append(row)
    return rows


def _key(values: dict[str, Any], axes: Sequence[str]) -> str:
    """A hashable key of the values of ``axes`` (a value may be a list)."""
    return json.dumps([values[a] for a in axes])


def to_markdown(spec: SweepSpec, scores: list[RunScore], planned: int) -> str:
    """The summary table (and the paired table) as markdown."""
    if not scores:
        return f"No run of the {planned} planned has finished yet.\n"
    metric = scores[0].metric
    axes = spec.setting_axes
    replicate = [a for a in spec.axes if a not in axes]
    over = f" over {' × '.join(replicate)}" if replicate else ""
    lines = [
        f"{len(scores)} of {planned} runs finished; test split, {metric}, mean ± std{over}; "
        "model selected on the validation split unless the config says otherwise.",
        "",
        "| "
        + " | ".join([*axes, "runs", "complete data", "UME average", "decline", "train s / run"])
        + " |",
        "|" + "---|" * len(axes) + "---:|" * 5,
    ]
    for group in _by_setting(spec, scores):
        cells = [str(group[0].values[a]) for a in axes] + [str(len(group))]
        cells += [_fmt([getattr(s, name) for s in group]) for name in SCORES]
        cells.append(f"{statistics.fmean(s.seconds for s in group):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    paired = paired_rows(spec, scores)
    if paired:
        others = [a for a in axes if a != spec.compare_axis]
        lines += [
            "",
            f"Paired by {', '.join(a for a in spec.axes if a != spec.compare_axis)}: mean "
            "difference [bootstrap 95% interval], and pairs where the first is higher.",
            "",
            "| "
            + " | ".join(
                [
                    *others,
                    "comparison",
                    "pairs",
                    "Δ complete data",
                    "Δ UME average",
                    "Δ decline",
                    "higher",
                ]
            )
            + " |",
            "|" + "---|" * (len(others) + 1) + "---:|" * 5,
        ]
        for row in paired:
            avg = row["average"]
            cells = [str(row[a]) for a in others] + [row["comparison"], str(avg["pairs"])]
            cells += [_interval(row[name]) for name in SCORES]
            cells.append(f"{avg['wins']}/{avg['pairs']}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _interval(stats: dict[str, float]) -> str:
    return f"{stats['mean']:+.4f} [{stats['low']:+.4f}, {stats['high']:+.4f}]"


def write_summary(spec: SweepSpec, folder: SweepFolder, planned: int) -> str:
    """summary.md and summary.json in the sweep folder; returns the markdown."""
    from iteach_app.io import atomic_write_text

    scores = collect(spec, folder)
    text = to_markdown(spec, scores, planned)
    atomic_write_text(folder.summary("md"), f"# Sweep {spec.path.name}\n\n{text}")
    payload = {
        "sweep_file": str(spec.path),
        "planned": planned,
        "runs": [asdict(s) for s in scores],
        "settings": summary_rows(spec, scores),
        "paired": paired_rows(spec, scores),
    }
    atomic_write_text(folder.summary("json"), json.dumps(payload, indent=2) + "\n")
    return text
