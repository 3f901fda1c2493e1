"""The two real-data commands of the issue, end to end with a tiny model and one epoch."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from iteach_app.cli import app

TINY_MODEL = "hidden_dim = 16\nnum_heads = 2\nmlp_ratio = 2.0\neval_rates = [0.0, 0.5]\n"


def _train(tmp_path: Path, *args: str) -> dict:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_MODEL)
    base = ["train", "--config", str(config), "--epochs", "1", "--out", str(tmp_path), "-q"]
    result = CliRunner().invoke(app, [*base, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "UME on the test split" in result.output
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return json.loads((run / "ume.json").read_text())


def test_iemocap_text_only_fold5(shared_data: Path, tmp_path: Path) -> None:
    ume = _train(
        tmp_path,
        *("--data", str(shared_data / "IEMOCAP"), "--dataset", "IEMOCAPFour"),
        *("--features", "text=minilm-384-UTT", "--fold", "5"),
    )
    assert ume["modalities"] == ["text"]
    assert ume["num_utterances"] == 1241  # Session 5 of the 4-way release
    # One modality: keep_at_least defaults to 0, so rate 0.5 drops about half the utterances.
    assert ume["keep_at_least"] == 0
    assert ume["realised"][0] == 0.0
    assert abs(ume["realised"][1] - 0.5) < 0.01


def test_mosi_text_and_audio(shared_data: Path, tmp_path: Path) -> None:
    ume = _train(
        tmp_path,
        *("--data", str(shared_data / "CMUMOSI"), "--dataset", "CMUMOSI"),
        *("--features", "text=minilm-384-UTT,audio=covarep73-UTT"),
    )
    assert ume["task"] == "regression"
    assert ume["modalities"] == ["text", "audio"]
    assert ume["num_utterances"] == 686
    assert set(ume["per_rate"][0]) == {"binary_waf", "mae", "acc2"}
    assert ume["realised"][1] == 0.5
