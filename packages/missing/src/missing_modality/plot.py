"""Metric-vs-missing-rate curves (MultiBench style); matplotlib is an optional extra."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@runtime_checkable
class CurveResult(Protocol):
    """What a curve needs from a result (UMEResult is one); keeps plot.py free of result.py."""

    protocol: str
    rates: tuple[float, ...]
    metrics: tuple[str, ...]

    def curve(self, metric: str) -> list[float]: ...


# What each metric key of a result means, for axis labels.
METRIC_LABELS: dict[str, str] = {
    "waf": "weighted F1",
    "acc": "accuracy",
    "binary_waf": "binary weighted F1 (non-zero labels)",
    "acc2": "binary accuracy (non-zero labels)",
    "mae": "mean absolute error",
}
TITLE_WIDTH = 60  # characters per title line at the figure's width and font size
LABEL_WIDTH = 70  # characters per legend-label line


def _wrap(text: str, width: int) -> str:
    """Each line of ``text`` wrapped at ``width`` characters (long names never run off)."""
    return "\n".join(textwrap.fill(line, width) or line for line in text.splitlines())


def ume_figure(
    results: Mapping[str, CurveResult] | CurveResult,
    *,
    metric: str | None = None,
    title: str | None = None,
) -> Figure:
    """The figure `plot_ume` saves: ``metric`` against the missing rate, one curve per named
    result, the legend below the axes (never over a curve, never squeezing the axes) and long
    titles and names wrapped to the figure's width."""
    from matplotlib.figure import Figure

    if isinstance(results, CurveResult):
        results = {results.protocol: results}
    if not results:
        raise ValueError("plot_ume needs at least one result")
    metric = metric or next(iter(results.values())).metrics[0]
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for name, result in results.items():
        axes.plot(result.rates, result.curve(metric), marker="o", label=_wrap(name, LABEL_WIDTH))
    axes.set_xlabel("missing rate")
    axes.set_ylabel(METRIC_LABELS.get(metric, metric))
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize=8, frameon=False)
    if title:
        axes.set_title(_wrap(title, TITLE_WIDTH), fontsize=10)
    return figure


def plot_ume(
    results: Mapping[str, CurveResult] | CurveResult,
    path: str | Path,
    *,
    metric: str | None = None,
    title: str | None = None,
) -> Path:
    """Draw ``metric`` against the missing rate, one curve per named result; save to ``path``.

    The suffix picks the format: ``.svg`` is written by `missing_modality.svg.ume_svg` (no
    dependency, milliseconds); ``.png``, ``.pdf`` and the rest by matplotlib
    (``missing-modality[plot]``).
    """
    path = Path(path)
    if path.suffix.lower() == ".svg":
        from missing_modality.svg import ume_svg

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ume_svg(results, metric=metric, title=title), encoding="utf-8")
        return path
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'missing-modality[plot]'"
        ) from None
    figure = ume_figure(results, metric=metric, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
