"""The table of benchmarks/experiments/ecce_folds.py: every (fold, seed) pooled, per-fold means,
the fold's linear bar, and the paired difference of local + global against no ECCE."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "benchmarks" / "experiments"


@pytest.fixture(scope="module")
def folds_module():
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import ecce_folds
    finally:
        sys.path.remove(str(EXPERIMENTS))
    return ecce_folds


def _write(root: Path, data_key: str, kind: str, seed: int, waf: float) -> None:
    run = root / data_key / f"complete-pre-nas-ecce-{kind}" / f"seed{seed}"
    run.mkdir(parents=True)
    payload = {"rates": [0.0], "per_rate": [{"waf": waf}], "average": {"waf": waf}}
    (run / "ume.json").write_text(json.dumps({**payload, "decline": {"waf": 0.0}}))


def test_table_pools_folds_and_pairs_by_fold_and_seed(folds_module, tmp_path: Path) -> None:
    refs = {f"{d}/{c}/fold{f}": 0.5 + f / 100 for d in ("iemocap4", "iemocap6")
            for c in ("context", "utterance") for f in (2, 5)}  # fmt: skip
    (tmp_path / "references.json").write_text(json.dumps({**refs, "mosi": {}}))
    for fold, root in ((5, tmp_path), (2, tmp_path / "fold2")):
        for data_key in folds_module.DATASETS:
            for seed in (0, 1):
                _write(root, data_key, "none", seed, 0.60 + fold / 100)
                _write(root, data_key, "full", seed, 0.64 + fold / 100 + seed / 100)
    text = folds_module.table(tmp_path, [2, 5])
    assert "| 4-class | no ECCE | 4 | 0.635 ± 0.017 | 0.620 | 0.650 |" in text
    assert "| 4-class | local + global | 4 | 0.680 ± 0.018 | 0.665 | 0.695 |" in text
    assert "| 4-class | global only | 0 | - | - | - |" in text
    assert "| 4-class | *±3-context LR* | - | 0.535 | 0.520 | 0.550 |" in text
    assert "4-class: local + global minus no ECCE, paired by (fold, seed): mean +0.045 over 4 " \
        "pairs, positive in 4" in text  # fmt: skip
