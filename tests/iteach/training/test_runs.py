"""Run folder names and the fold x seed expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from iteach_app.config import ConfigError, resolve
from iteach_app.training.run_folder import run_dir_for, run_name
from iteach_app.training.sweep import expand, parse_int_list

REAL = {"data": "d", "dataset": "IEMOCAPFour", "features": {"text": "t"}}


def test_names_say_data_framework_fold_seed_and_protocol() -> None:
    config = resolve(overrides={**REAL, "fold": 5, "seed": 2})
    assert run_name(config) == "IEMOCAPFour-its-fold5-seed2"
    paper = resolve(overrides={**REAL, "select_on": "test", "framework": "pre"})
    assert run_name(paper) == "IEMOCAPFour-pre-seed0-selected-on-TEST"
    assert run_dir_for(paper, Path("runs"), "mine", False) == Path("runs/mine-selected-on-TEST")
    assert run_name(resolve(overrides={"synthetic": "mosi"})) == "synthetic-mosi-its-seed0"


def test_expand_folds_and_seeds() -> None:
    base = resolve(overrides=REAL)
    configs = expand(base, parse_int_list("all", "fold", all_values=range(1, 6)), [0, 1])
    assert [(c.fold, c.seed) for c in configs][:3] == [(1, 0), (1, 1), (2, 0)]
    assert len(configs) == 10
    assert expand(base, [], []) == [base]
    names = {run_dir_for(c, Path("r"), "sweep", True) for c in configs}
    assert len(names) == 10
    with pytest.raises(ConfigError, match="fold must be <= 5"):
        expand(base, [7], [])
