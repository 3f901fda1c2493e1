"""Metric-vs-missing-rate curves (MultiBench style); matplotlib is an optional extra."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class CurveResult(Protocol):
    """What a curve needs from a result (UMEResult is one); keeps plot.py free of result.py."""

    protocol: str
    rates: tuple[float, ...]
    metrics: tuple[str, ...]

    def curve(self, metric: str) -> list[float]: ...


def plot_ume(
    results: Mapping[str, CurveResult] | CurveResult,
    path: str | Path,
    *,
    metric: str | None = None,
    title: str | None = None,
) -> Path:
    """Draw ``metric`` against the missing rate, one curve per named result; save to ``path``.

    The suffix picks the format (``.png``, ``.pdf``, ``.svg``). Needs ``missing-modality[plot]``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'missing-modality[plot]'"
        ) from None
    if isinstance(results, CurveResult):
        results = {results.protocol: results}
    if not results:
        raise ValueError("plot_ume needs at least one result")
    metric = metric or next(iter(results.values())).metrics[0]
    figure = Figure(figsize=(5.0, 3.5), layout="constrained")
    axes = figure.add_subplot()
    for name, result in results.items():
        axes.plot(result.rates, result.curve(metric), marker="o", label=name)
    axes.set_xlabel("missing rate")
    axes.set_ylabel(metric)
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
