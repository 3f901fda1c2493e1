"""UMEResult reports: JSON round trip, CSV, markdown, side-by-side tables and the plot."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from missing_modality import UMEResult, compare_markdown, evaluate_ume, plot_ume


@pytest.fixture
def result(batches, oracle) -> UMEResult:
    return evaluate_ume(oracle, batches, seed=2)


def regression_result() -> UMEResult:
    return UMEResult(
        rates=(0.0, 0.5),
        per_rate=[
            {"binary_waf": 0.8, "mae": 0.7, "acc2": 0.81},
            {"binary_waf": 0.6, "mae": 0.9, "acc2": 0.62},
        ],
        realised=(0.0, 0.5),
        task="regression",
    )


def test_json_round_trip(result: UMEResult) -> None:
    text = result.to_json()
    again = UMEResult.from_json(text)
    assert again == result
    assert again.average == result.average
    assert again.decline == result.decline
    assert again.to_json() == text
    assert UMEResult.from_json(regression_result().to_json()) == regression_result()


def test_from_json_errors() -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        UMEResult.from_json("{")
    with pytest.raises(ValueError, match="not a UMEResult document"):
        UMEResult.from_json('{"rates": []}')
    with pytest.raises(ValueError, match=r"lacks the keys \['realised'\]"):
        UMEResult.from_json(
            '{"format": "missing_modality.UMEResult", "rates": [0.0], "per_rate": [{}], '
            '"task": "classification"}'
        )


def test_csv(result: UMEResult) -> None:
    rows = list(csv.reader(io.StringIO(result.to_csv())))
    assert rows[0] == ["rate", "realised_rate", "waf", "acc"]
    assert len(rows) == 1 + len(result.rates) + 2
    for row, rate, realised, metrics in zip(
        rows[1:-2], result.rates, result.realised, result.per_rate, strict=True
    ):
        assert float(row[0]) == rate
        assert float(row[1]) == realised
        assert [float(value) for value in row[2:]] == [metrics["waf"], metrics["acc"]]
    assert rows[-2][0] == "average"
    assert float(rows[-2][3]) == result.average["acc"]
    assert rows[-1][0] == "decline"
    assert float(rows[-1][2]) == result.decline["waf"]


def test_markdown(result: UMEResult) -> None:
    lines = result.to_markdown().splitlines()
    assert lines[0] == "| rate | realised | waf | acc |"
    assert lines[2].startswith("| 0.0 | 0.0000 | 1.0000 | 1.0000 |")
    assert lines[-2].startswith("| average |")
    assert lines[-1] == (
        f"| decline |  | {result.decline['waf']:.4f} | {result.decline['acc']:.4f} |"
    )
    assert len(lines) == 2 + len(result.rates) + 2


def test_compare_markdown(result: UMEResult) -> None:
    other = UMEResult(
        rates=(0.0, 0.7),
        per_rate=[{"waf": 0.5, "acc": 0.5}, {"waf": 0.25, "acc": 0.3}],
        realised=(0.0, 2 / 3),
    )
    text = compare_markdown({"ITEACH": result, "PRE": other}, metric="waf")
    lines = text.splitlines()
    assert lines[0] == "waf:"
    assert lines[2].split(" | ")[1:3] == ["0.0", "0.1"]
    pre = lines[-1].split(" | ")
    assert pre[0] == "| PRE"
    assert pre[1] == "0.5000"
    assert pre[2] == "–"
    assert pre[-1] == "0.2500 |"
    with pytest.raises(ValueError, match="unknown metric 'mae'"):
        compare_markdown({"ITEACH": result}, metric="mae")


def test_plot_writes_png(result: UMEResult, tmp_path: Path) -> None:
    path = plot_ume(
        {"ITEACH": result, "REG": result}, tmp_path / "curves" / "ume.png", metric="acc"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    single = result.plot(tmp_path / "single.png")
    assert single.stat().st_size > 0


def test_plot_without_matplotlib(result: UMEResult, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"missing-modality\[plot\]"):
        plot_ume(result, tmp_path / "never.png")


def test_bad_result() -> None:
    with pytest.raises(ValueError, match="same length"):
        UMEResult(rates=(0.0, 0.1), per_rate=[{"waf": 1.0}], realised=(0.0,))
    with pytest.raises(ValueError, match="task must be one of"):
        UMEResult(rates=(0.0,), per_rate=[{"waf": 1.0}], realised=(0.0,), task="ranking")
