"""Several finished runs -> one UME table in the paper's Table 4 layout and one plot.

Runs whose configs differ only by seed form one group (a row: mean ± std over its seeds, per
rate, average and decline); a row is labelled by its model (ITS / TS / PRE or the baseline) or
by the labels given. Every run of a table must share the task and the evaluation rates.
"""

from __future__ import annotations

import csv
import io
import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.io import atomic_write_text
from iteach_app.report.figures import save_png_atomic
from iteach_app.report.paired import PairedDifference, paired_csv_rows, paired_difference
from iteach_app.training.run_folder import SELECTION_METRIC, RunFolder
from missing_modality import METRIC_LABELS, UMEResult

SEED_FREE = ("seed", "device", "threads")  # what may differ inside one group
# What names the data a run used rather than the setting it tried: pairs match on it instead.
DATA_FIELDS = (
    "data", "dataset", "features", "synthetic", "synthetic_dialogues", "synthetic_dims",
    "synthetic_max_length", "fold", "cache_dir", "conversations", "labels",
)  # fmt: skip
TITLE_WIDTH = 60  # characters per title line at the figure's width and font size
LABEL_WIDTH = 70  # characters per legend-label line


def _wrap(text: str, width: int) -> str:
    """Each line of ``text`` wrapped at ``width`` characters (long names never run off)."""
    return "\n".join(textwrap.fill(line, width) or line for line in text.splitlines())


@dataclass
class Group:
    """Runs that differ only by seed: their label, dataset, and UME results (one per seed)."""

    label: str
    dataset: str
    runs: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    results: list[UMEResult] = field(default_factory=list)
    keys: list[tuple] = field(default_factory=list)

    def per_seed(self, metric: str) -> list[list[float]]:
        """(seeds, rates + 2): each seed's curve, then its average and decline."""
        return [[*r.curve(metric), r.average[metric], r.decline[metric]] for r in self.results]


def load_groups(runs: Sequence[str | Path], labels: Sequence[str] = ()) -> list[Group]:
    """Read each run folder's config and ume.json and group runs that differ only by seed
    (with ``labels``, one per run: runs of one label form one group)."""
    from iteach_app.training.framework import model_label

    if not runs:
        raise ConfigError("compare needs at least one run folder")
    if labels and len(labels) != len(runs):
        raise ConfigError(f"--label given {len(labels)} times for {len(runs)} runs; give one each")
    groups: dict[str, Group] = {}
    first: UMEResult | None = None
    for index, run in enumerate(runs):
        folder = RunFolder(run)
        config, result = folder.read_config(), folder.read_ume()
        first = first or result
        if result.task != first.task or list(result.rates) != list(first.rates):
            raise ConfigError(
                f"{folder.ume['json']}: task {result.task} at rates {list(result.rates)} differs "
                f"from {runs[0]} ({first.task} at {list(first.rates)}); compare like with like"
            )
        key = labels[index] if labels else _group_key(config)
        label = labels[index] if labels else model_label(config, short=True)
        group = groups.setdefault(key, Group(label, config.dataset_label))
        key = (_data_key(config), config.fold, config.seed)
        if key in group.keys:
            where = f"fold {config.fold}, " if config.fold is not None else ""
            raise ConfigError(f"{run}: {where}seed {config.seed} appears twice in group {label!r}")
        group.keys.append(key)
        group.runs.append(folder.name)
        group.seeds.append(config.seed)
        group.results.append(result)
    _disambiguate(list(groups.values()))
    return list(groups.values())


def _data_key(config: TrainConfig) -> str:
    """What identifies the data a run used, its fold aside (paths, dataset, synthetic sizes)."""
    values = config.to_dict()
    return repr(sorted((k, values[k]) for k in DATA_FIELDS if k != "fold"))


def _group_key(config: TrainConfig) -> str:
    values = {k: v for k, v in config.to_dict().items() if k not in SEED_FREE}
    return repr(sorted(values.items()))


def _disambiguate(groups: list[Group]) -> None:
    """Two groups of one label (e.g. two AE settings) get #1, #2 appended."""
    counts: dict[str, int] = {}
    for group in groups:
        counts[group.label] = counts.get(group.label, 0) + 1
    seen: dict[str, int] = {}
    for group in groups:
        if counts[group.label] > 1:
            seen[group.label] = seen.get(group.label, 0) + 1
            group.label = f"{group.label} #{seen[group.label]}"


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample std (None for one value)."""
    if len(values) == 1:
        return values[0], None
    return statistics.mean(values), statistics.stdev(values)


def _cell(values: Sequence[float], digits: int) -> str:
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def default_metric(groups: Sequence[Group]) -> str:
    """The selection metric of the runs' task (WAF; binary WAF for regression)."""
    return SELECTION_METRIC[groups[0].results[0].task]


def table_rows(groups: Sequence[Group], metric: str) -> tuple[list[str], list[list[list[float]]]]:
    """Column names (rates, average, decline) and, per group, the per-seed values of each column."""
    rates = groups[0].results[0].rates
    columns = [f"{rate:g}" for rate in rates] + ["average", "decline"]
    values = []
    for group in groups:
        per_seed = group.per_seed(metric)
        values.append([[row[c] for row in per_seed] for c in range(len(columns))])
    return columns, values


def compare_markdown(groups: Sequence[Group], metric: str, digits: int = 4) -> str:
    """Table 4 layout: a row per model (mean ± std over seeds), a column per missing rate,
    then average and decline."""
    columns, values = table_rows(groups, metric)
    datasets = sorted({g.dataset for g in groups})
    lines = [
        f"UME {metric} on {', '.join(datasets)} (test split; mean ± std over seeds)",
        "",
        "| model | seeds | " + " | ".join(columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for group, cells in zip(groups, values, strict=True):
        text = " | ".join(_cell(v, digits) for v in cells)
        lines.append(f"| {group.label} | {len(group.seeds)} | {text} |")
    return "\n".join(lines) + "\n"


def compare_csv(groups: Sequence[Group], metric: str) -> str:
    """One row per model and column: model, dataset, column, mean, std, seeds."""
    columns, values = table_rows(groups, metric)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "dataset", "metric", "column", "mean", "std", "seeds"])
    for group, cells in zip(groups, values, strict=True):
        for column, cell in zip(columns, cells, strict=True):
            mean, std = mean_std(cell)
            writer.writerow(
                [group.label, group.dataset, metric, column, f"{mean:.6f}",
                 "" if std is None else f"{std:.6f}", len(cell)]
            )  # fmt: skip
    return buffer.getvalue()


def compare_figure(groups: Sequence[Group], metric: str, title: str = "") -> Figure:
    """Metric vs missing rate, one line per model, a band of ± one std over seeds; the legend
    below the axes (never over a curve), the metric named in words, long names wrapped."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    axes = figure.add_subplot()
    rates = list(groups[0].results[0].rates)
    for group in groups:
        curves = [r.curve(metric) for r in group.results]
        means = [statistics.mean(column) for column in zip(*curves, strict=True)]
        label = _wrap(f"{group.label} (n={len(curves)})", LABEL_WIDTH)
        (line,) = axes.plot(rates, means, marker="o", label=label)
        if len(curves) > 1:
            stds = [statistics.stdev(column) for column in zip(*curves, strict=True)]
            low = [m - s for m, s in zip(means, stds, strict=True)]
            high = [m + s for m, s in zip(means, stds, strict=True)]
            axes.fill_between(rates, low, high, color=line.get_color(), alpha=0.2)
    datasets = ", ".join(sorted({g.dataset for g in groups}))
    axes.set_title(_wrap(title or f"UME on {datasets}", TITLE_WIDTH), fontsize=10)
    axes.set_xlabel("missing rate")
    axes.set_ylabel(METRIC_LABELS.get(metric, metric))
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize=8, frameon=False)
    return figure


def plot_compare(groups: Sequence[Group], metric: str, path: str | Path, title: str = "") -> Path:
    """Save `compare_figure` to ``path`` (PNG, atomically)."""
    return save_png_atomic(compare_figure(groups, metric, title), path)


@dataclass
class RunRecord:
    """One finished run as a paired comparison sees it: its setting, data, fold, seed, result."""

    setting: dict[str, object]
    dataset: str
    data_key: str
    fold: int | None
    seed: int
    result: UMEResult
    label: str | None = None

    def pair_key(self) -> tuple:
        """(data, fold, seed): what a run of another setting must share to be its pair."""
        return (self.data_key, self.fold, self.seed)


def load_records(runs: Sequence[str | Path], labels: Sequence[str] = ()) -> list[RunRecord]:
    """Each run's setting (config minus data, fold, seed and machine fields), data and result."""
    if labels and len(labels) != len(runs):
        raise ConfigError(f"--label given {len(labels)} times for {len(runs)} runs; give one each")
    records = []
    for index, run in enumerate(runs):
        folder = RunFolder(run)
        config, result = folder.read_config(), folder.read_ume()
        values = config.to_dict()
        setting = {k: v for k, v in values.items() if k not in (*SEED_FREE, *DATA_FIELDS)}
        records.append(
            RunRecord(
                setting=setting,
                dataset=config.dataset_label,
                data_key=_data_key(config),
                fold=config.fold,
                seed=config.seed,
                result=result,
                label=labels[index] if labels else None,
            )
        )
    return records


def setting_labels(records: Sequence[RunRecord]) -> list[str]:
    """A label per record: its given label, else the settings that differ between the records
    (e.g. "framework=pre"), or "all runs" when they share one setting."""
    varying = sorted(
        {k for r in records for k, v in r.setting.items() if any(o.setting.get(k) != v
                                                                  for o in records)}
    )  # fmt: skip
    out = []
    for record in records:
        if record.label is not None:
            out.append(record.label)
        elif varying:
            out.append(", ".join(f"{k}={_short(record.setting.get(k))}" for k in varying))
        else:
            out.append("all runs")
    return out


def _short(value: object) -> str:
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def paired_comparison(
    records: Sequence[RunRecord], metric: str, reference: str | None = None
) -> list[PairedDifference]:
    """Every setting against ``reference`` (a setting label, or a unique part of one; default:
    the setting with framework=pre where exactly one has it, else the first run's), paired by
    (data, fold, seed), for the UME average and the complete-data score (rate 0) of ``metric``.
    """
    labels = setting_labels(records)
    order = list(dict.fromkeys(labels))
    if len(order) < 2:
        return []
    chosen = _reference(records, labels, order, reference)
    rows = []
    names = {r.data_key: r.dataset for r in records}
    for data_key in sorted(names, key=lambda key: (names[key], key)):
        dataset = names[data_key]
        scores: dict[str, dict[str, dict[tuple, float]]] = {}
        for record, label in zip(records, labels, strict=True):
            if record.data_key != data_key:
                continue
            per_label = scores.setdefault(label, {"UME average": {}, "complete data": {}})
            key = record.pair_key()
            if key in per_label["UME average"]:
                raise ConfigError(
                    f"two runs of setting {label!r} share data {dataset}, fold {record.fold} "
                    f"and seed {record.seed}: give each pair once"
                )
            per_label["UME average"][key] = record.result.average[metric]
            per_label["complete data"][key] = record.result.curve(metric)[0]
        if chosen not in scores:
            continue
        for label in order:
            if label == chosen or label not in scores:
                continue
            for score in ("UME average", "complete data"):
                row = paired_difference(
                    scores[label][score], scores[chosen][score],
                    names=(label, chosen), dataset=dataset, score=f"{score} ({metric})",
                )  # fmt: skip
                if row is not None:
                    rows.append(row)
    return rows


def _reference(
    records: Sequence[RunRecord], labels: list[str], order: list[str], reference: str | None
) -> str:
    if reference is not None:
        if reference in order:
            return reference
        matches = [label for label in order if reference in label]
        if len(matches) != 1:
            raise ConfigError(
                f"--reference {reference!r} matches {len(matches)} settings; settings: "
                + "; ".join(order)
            )
        return matches[0]
    pre = {
        label
        for r, label in zip(records, labels, strict=True)
        if r.setting.get("framework") == "pre"
    }
    return next(iter(pre)) if len(pre) == 1 else order[0]


def paired_csv(rows: Sequence[PairedDifference]) -> str:
    """The paired table as CSV."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(paired_csv_rows(rows))
    return buffer.getvalue()


def write_comparison(
    groups: Sequence[Group], out: str | Path, metric: str | None = None, title: str = ""
) -> dict[str, Path]:
    """compare.md, compare.csv and compare.png in ``out``."""
    metric = metric or default_metric(groups)
    known = groups[0].results[0].metrics
    if metric not in known:
        raise ConfigError(f"--metric {metric!r}: these runs hold {', '.join(known)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: out / f"compare.{ext}" for ext in ("md", "csv", "png")}
    atomic_write_text(paths["md"], compare_markdown(groups, metric))
    atomic_write_text(paths["csv"], compare_csv(groups, metric))
    plot_compare(groups, metric, paths["png"], title)
    return paths
