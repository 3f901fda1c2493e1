"""One rule for keep_at_least (training masks, selection, `evaluate`): unset means 1, or 0 with a
single modality, and the console says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.training.evaluation import effective_keep_at_least, single_modality_note

runner = CliRunner()


@pytest.mark.parametrize(
    ("configured", "modalities", "expected"),
    [(None, 1, 0), (None, 2, 1), (None, 3, 1), (0, 3, 0), (2, 1, 1), (2, 3, 2), (5, 3, 3)],
)
def test_effective_keep_at_least(make_config, configured, modalities, expected) -> None:
    config = make_config(keep_at_least=configured)
    assert effective_keep_at_least(config, modalities) == expected


def test_the_note_appears_only_for_the_one_modality_default(make_config) -> None:
    assert "keep_at_least defaults to 0" in single_modality_note(make_config(), 1)
    assert single_modality_note(make_config(), 3) is None
    assert single_modality_note(make_config(keep_at_least=1), 1) is None


def _train_one_modality(tmp_path: Path, *extra: str):
    options = [
        "train", "--synthetic", "mosi", "--synthetic-dims", "text=8",
        "--synthetic-dialogues", "12", "--synthetic-max-length", "8",
        "--hidden-dim", "16", "--num-heads", "2", "--window", "3", "--max-distance", "6",
        "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--checkpoint-every", "0",
        "--eval-rates", "0,0.5", "--out", str(tmp_path), "--name", "one", *extra,
    ]  # fmt: skip
    result = runner.invoke(app, options)
    assert result.exit_code == 0, result.output
    return result.output, json.loads((tmp_path / "one" / "ume.json").read_text())


def test_one_modality_masks_whole_utterances_by_default(tmp_path: Path) -> None:
    output, ume = _train_one_modality(tmp_path)
    assert "one modality: keep_at_least defaults to 0" in " ".join(output.split())
    assert ume["keep_at_least"] == 0
    assert ume["realised"][1] == pytest.approx(0.5, abs=0.1)


def test_an_explicit_keep_at_least_wins_without_a_note(tmp_path: Path) -> None:
    output, ume = _train_one_modality(tmp_path, "--keep-at-least", "1")
    assert "keep_at_least defaults" not in output
    assert ume["realised"] == [0.0, 0.0]
