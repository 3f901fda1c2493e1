"""The matplotlib-free SVG figure: well-formed, one curve per result with its points where the
values say, round ticks, names escaped, NaN points left out, and no matplotlib imported."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from missing_modality import UMEResult, plot_ume, ume_svg
from missing_modality.svg import nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def make_result(values: list[float]) -> UMEResult:
    rates = tuple(round(0.1 * i, 1) for i in range(len(values)))
    per_rate = [{"waf": v, "acc": v} for v in values]
    return UMEResult(rates=rates, per_rate=per_rate, realised=rates)


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polyline.get("points").split()]


def test_one_curve_per_result_with_points_in_rate_order() -> None:
    high, low = make_result([0.8, 0.7, 0.6, 0.5]), make_result([0.4, 0.45, 0.3, 0.2])
    root = ET.fromstring(ume_svg({"high": high, "low": low}, title="UME"))
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    first, second = (points(line) for line in lines)
    assert [x for x, _ in first] == sorted(x for x, _ in first)
    assert len(first) == len(second) == 4
    # y grows downwards: a larger metric is drawn higher; equal rates share x
    assert all(a[1] < b[1] for a, b in zip(first, second, strict=True))
    assert [x for x, _ in first] == [x for x, _ in second]
    assert first[0][1] < first[1][1] < first[2][1] < first[3][1]
    assert len(root.findall(f"{SVG}circle")) == 8
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"UME", "high", "low", "missing rate", "weighted F1"} <= set(texts)


def test_names_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & more'
    text = ume_svg({hostile: make_result([0.5, 0.4])}, title=hostile)
    assert "<script>" not in text
    root = ET.fromstring(text)
    assert hostile in [t.text for t in root.iter(f"{SVG}text")]


def test_nan_points_break_the_curve() -> None:
    root = ET.fromstring(ume_svg(make_result([0.5, float("nan"), 0.4, 0.3])))
    runs = [points(line) for line in root.findall(f"{SVG}polyline")]
    assert [len(run) for run in runs] == [1, 2]
    assert len(root.findall(f"{SVG}circle")) == 3


def test_long_names_wrap_and_the_figure_grows() -> None:
    short = ET.fromstring(ume_svg({"a": make_result([0.5, 0.4])}))
    long = ET.fromstring(ume_svg({"word " * 60: make_result([0.5, 0.4])}, title="title " * 40))
    assert float(long.get("height")) > float(short.get("height"))
    assert max(len(t.text or "") for t in long.iter(f"{SVG}text")) <= 80


@pytest.mark.parametrize(
    ("low", "high"), [(0.6, 0.8), (0.213, 0.38), (-3.0, 12.0), (0.5, 0.5), (0.0, 1e-4)]
)
def test_ticks_are_round_and_cover_the_range(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low
    assert ticks[-1] >= high
    assert 2 <= len(ticks) <= 12
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one result"):
        ume_svg({})
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0.0, float("inf"))


def test_plot_ume_writes_svg_without_matplotlib(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from missing_modality import UMEResult, plot_ume\n"
        "r = UMEResult(rates=(0.0, 0.1), per_rate=[{'waf': 0.5}, {'waf': 0.4}], "
        "realised=(0.0, 0.1))\n"
        f"plot_ume({{'m': r}}, {str(tmp_path / 'out' / 'ume.svg')!r})\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert ET.parse(tmp_path / "out" / "ume.svg").getroot().tag == f"{SVG}svg"


def test_plot_ume_svg_matches_ume_svg(tmp_path: Path) -> None:
    result = make_result([0.5, 0.4, 0.3])
    path = plot_ume({"m": result}, tmp_path / "curve.svg", metric="acc", title="t")
    assert path.read_text() == ume_svg({"m": result}, metric="acc", title="t")
