"""`iteach-app evaluate RUN` equals the run's own ume.json at any batch size, because
UME masks are drawn per conversation id and evaluate uses the run's rates, seed and
keep_at_least (the trainer's effective value)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.config import resolve
from iteach_app.training.trainer import Trainer

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny run trained with batch size 4, keep_at_least set to its 3 modalities."""
    tiny = {
        "synthetic": "iemocap4",
        "synthetic_dialogues": 14,
        "synthetic_dims": {"text": 8, "audio": 4, "video": 6},
        "synthetic_max_length": 12,
        "hidden_dim": 16,
        "num_heads": 2,
        "window": 3,
        "max_distance": 6,
        "epochs": 1,
        "batch_size": 4,
        "device": "cpu",
        "checkpoint_every": 0,
        "keep_at_least": 3,
        "eval_rates": [0.0, 0.3, 0.5, 0.7],
    }
    config = resolve(overrides=tiny, source="test")
    run_dir = tmp_path_factory.mktemp("inv") / "run"
    Trainer(config, run_dir, verbose=False).fit()
    return run_dir


@pytest.mark.parametrize("batch_size", [1, 3, 32])
def test_evaluate_equals_the_runs_ume_json(run: Path, batch_size: int) -> None:
    result = runner.invoke(
        app, ["evaluate", str(run), "--json", "--device", "cpu", "--batch-size", str(batch_size)]
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    stored = json.loads((run / "ume.json").read_text())
    assert got["keep_at_least"] == stored["keep_at_least"] == 3
    assert got["realised"] == stored["realised"]
    for mine, theirs in zip(got["per_rate"], stored["per_rate"], strict=True):
        assert mine == pytest.approx(theirs, abs=1e-9)
