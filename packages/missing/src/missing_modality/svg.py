"""The metric-vs-missing-rate figure as SVG text, without matplotlib.

A training run draws its UME curve once at the end; importing and running matplotlib for it took
0.6-1.0 s of a 3 s start-up and tear-down budget on a 2-core CPU, while the chart is a few lines,
circles and labels. `ume_svg` writes that chart directly: the same content as `ume_figure`
(one curve per named result, the rates on x, the metric on y with round ticks, the legend below
the axes, long titles and names wrapped), as a standalone SVG any browser or document shows.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from missing_modality.plot import CurveResult

WIDTH, HEIGHT_AXES = 600, 320  # px: the whole figure's width, the axes' height
MARGIN_LEFT, MARGIN_RIGHT = 64, 20
LINE_HEIGHT = 15  # px per title or legend line
TITLE_WIDTH, LABEL_WIDTH = 70, 80  # characters per wrapped title / legend line
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering
    low .. high; a flat range gets ticks around its value."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"tick range must be finite, got {low} .. {high}")
    if high < low:
        low, high = high, low
    if high - low < 1e-12:
        pad = abs(low) * 0.05 or 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(first + len(ticks) * step)
    return [round(t, 12) for t in ticks]


def _label(value: float) -> str:
    """A tick label: at most 4 significant decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _wrap(text: str, width: int) -> list[str]:
    return [part for line in text.splitlines() for part in (textwrap.wrap(line, width) or [""])]


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def ume_svg(
    results: Mapping[str, CurveResult] | CurveResult,
    *,
    metric: str | None = None,
    title: str | None = None,
) -> str:
    """The figure as SVG text: ``metric`` (default: the first result's first) against the
    missing rate, one curve per named result; a NaN point is left out (its curve breaks)."""
    from missing_modality.plot import METRIC_LABELS, CurveResult

    if isinstance(results, CurveResult):
        results = {results.protocol: results}
    if not results:
        raise ValueError("ume_svg needs at least one result")
    metric = metric or next(iter(results.values())).metrics[0]
    curves = {name: (list(r.rates), list(r.curve(metric))) for name, r in results.items()}
    xs = [x for rates, _ in curves.values() for x in rates]
    ys = [y for _, values in curves.values() for y in values if math.isfinite(y)]
    x_ticks = sorted(set(xs))
    y_ticks = nice_ticks(min(ys), max(ys)) if ys else [0.0, 1.0]
    title_lines = _wrap(title, TITLE_WIDTH) if title else []
    legend = [(name, _wrap(name, LABEL_WIDTH)) for name in curves]
    top = 16 + LINE_HEIGHT * len(title_lines)
    bottom = top + HEIGHT_AXES
    legend_top = bottom + 48
    height = legend_top + LINE_HEIGHT * sum(len(lines) for _, lines in legend) + 8
    x_low, x_high = (
        (min(x_ticks), max(x_ticks)) if len(x_ticks) > 1 else (x_ticks[0] - 1, x_ticks[0] + 1)
    )
    y_low, y_high = y_ticks[0], y_ticks[-1]
    right = WIDTH - MARGIN_RIGHT

    def px(x: float) -> float:
        return MARGIN_LEFT + (x - x_low) / (x_high - x_low) * (right - MARGIN_LEFT)

    def py(y: float) -> float:
        return bottom - (y - y_low) / (y_high - y_low) * HEIGHT_AXES

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    for index, line in enumerate(title_lines):
        parts.append(
            _text(WIDTH / 2, 14 + LINE_HEIGHT * index, line, text_anchor="middle", font_size="12")
        )
    for tick in y_ticks:
        y = py(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(_text(MARGIN_LEFT - 6, y + 4, _label(tick), text_anchor="end"))
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#ddd"/>')
        parts.append(_text(x, bottom + 16, _label(tick), text_anchor="middle"))
    parts.append(
        f'<rect x="{MARGIN_LEFT}" y="{top}" width="{right - MARGIN_LEFT}" height="{HEIGHT_AXES}" '
        'fill="none" stroke="#333"/>'
    )
    parts.append(
        _text((MARGIN_LEFT + right) / 2, bottom + 34, "missing rate", text_anchor="middle")
    )
    y_title = METRIC_LABELS.get(metric, metric)
    parts.append(
        _text(16, (top + bottom) / 2, y_title, text_anchor="middle",
              transform=f"rotate(-90 16 {(top + bottom) / 2:.1f})")
    )  # fmt: skip
    line_y = legend_top
    for index, (name, (rates, values)) in enumerate(curves.items()):
        colour = COLOURS[index % len(COLOURS)]
        for segment in _segments(rates, values):
            points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in segment)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
            )
            parts.extend(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>'
                for x, y in segment
            )
        lines = dict(legend)[name]
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{line_y - 4}" x2="{MARGIN_LEFT + 22}" '
            f'y2="{line_y - 4}" stroke="{colour}" stroke-width="2"/>'
        )
        for line in lines:
            parts.append(_text(MARGIN_LEFT + 28, line_y, line))
            line_y += LINE_HEIGHT
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _segments(rates: Sequence[float], values: Sequence[float]) -> list[list[tuple[float, float]]]:
    """The curve's runs of finite points in rate order (a NaN ends a run)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in sorted(zip(rates, values, strict=True)):
        if math.isfinite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]
