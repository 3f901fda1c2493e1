"""benchmarks/experiments/distill_trend.py: a term that grows after its first epochs is flagged,
one that settles is not, and a run without distillation is skipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "experiments" / "distill_trend.py"


@pytest.fixture(scope="module")
def distill_trend():
    spec = importlib.util.spec_from_file_location("distill_trend", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(folder: Path, values: list[float | None]) -> Path:
    folder.mkdir()
    lines = ["epoch,train_loss,train_distill_loss"]
    lines += [f"{i + 1},1.0,{'' if v is None else v}" for i, v in enumerate(values)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_a_rising_term_is_flagged(distill_trend, tmp_path) -> None:
    run = _run(tmp_path / "mse", [0.7, 0.74, 0.9, 0.92, 1.2, 1.4, 1.5, 1.6, 1.7, 1.7])
    epochs, second, early, late, rises = distill_trend.trend(run)
    assert (epochs, second, early) == (10, 0.74, 0.92)
    assert late == pytest.approx((1.4 + 1.5 + 1.6 + 1.7 + 1.7) / 5)
    assert rises


def test_a_settling_term_is_not(distill_trend, tmp_path) -> None:
    run = _run(tmp_path / "cosine", [0.6, 0.53, 0.5, 0.45, 0.3, 0.2, 0.18, 0.17, 0.17, 0.16])
    assert not distill_trend.trend(run)[-1]


def test_a_run_without_distillation_is_skipped(distill_trend, tmp_path) -> None:
    assert distill_trend.trend(_run(tmp_path / "pre", [None] * 10)) is None
