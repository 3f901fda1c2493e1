"""The table code of benchmarks/experiments/run_results.py: mean ± std over seeds, empty cells."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "experiments" / "run_results.py"


@pytest.fixture(scope="module")
def rr():
    spec = importlib.util.spec_from_file_location("run_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_results"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_fmt_mean_and_sample_std(rr):
    assert rr.fmt([0.5, 0.7]) == "0.600 ± 0.141"
    assert rr.fmt([0.25]) == "0.250"
    assert rr.fmt([]) == "-"


def _write_run(folder: Path, seed: int, curve: list[float]) -> None:
    run = folder / f"seed{seed}"
    run.mkdir(parents=True)
    payload = {
        "rates": list(rr_rates()),
        "per_rate": [{"waf": v} for v in curve],
        "average": {"waf": sum(curve) / len(curve)},
        "decline": {"waf": curve[0] - curve[-1]},
        "selected_on": "val",
    }
    (run / "ume.json").write_text(json.dumps(payload))


def rr_rates() -> tuple[float, ...]:
    return (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def test_curve_table_averages_seeds_and_marks_missing_variants(rr, tmp_path):
    variant = rr.variants("context")[0]
    folder = tmp_path / variant.data_key / variant.key
    _write_run(folder, 0, [0.6] * 8)
    _write_run(folder, 1, [0.8] * 7 + [0.4])
    runs = rr.load_runs(variant, tmp_path)
    table = rr.curve_table([("A", runs), ("B", [])], "waf")
    row_a = next(line for line in table.splitlines() if line.startswith("| A |"))
    cells = [c.strip() for c in row_a.strip("|").split("|")]
    assert cells[1] == "0.700 ± 0.141"
    assert cells[8] == "0.500 ± 0.141"
    assert cells[-1] == "0,1"
    row_b = next(line for line in table.splitlines() if line.startswith("| B |"))
    assert row_b.count("| - ") == 10
    assert row_b.rstrip().endswith("none |")
