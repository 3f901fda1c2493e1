"""Modality audit: a planted noise modality at 30x scale is flagged at chance and out of scale;
informative modalities beat the majority class; `data audit` and `train` print it."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.data import build_splits, synthetic_dataset
from iteach_app.report.audit import audit_modalities
from tests.iteach.conftest import with_noise


def test_audit_flags_a_noise_modality_at_chance_and_out_of_scale(make_config) -> None:
    dims = {"text": 12, "audio": 8}
    clean = synthetic_dataset("iemocap4", seed=0, num_dialogues=60, dims=dims, max_length=16)
    bundle = build_splits(make_config(val_fraction=0.3), with_noise(clean, 24, 30.0))
    report = audit_modalities(bundle)
    by_name = {m.name: m for m in report.modalities}
    assert [m.name for m in report.modalities] == ["text", "audio", "noise"]
    assert by_name["noise"].dim == 24
    assert by_name["text"].probe > report.majority + 0.1
    expected_norm = np.mean(
        [np.linalg.norm(c.features["noise"], axis=1).mean() for c in bundle.train]
    )
    assert abs(by_name["noise"].mean_norm - expected_norm) < 0.05 * expected_norm
    chance = [w for w in report.warnings if "at chance" in w]
    assert any("'noise'" in w for w in chance)
    assert not any("'text'" in w for w in chance)
    assert any(w.startswith("modality 'noise' has mean norm") for w in report.warnings)
    text = report.to_markdown()
    assert "| noise | 24 |" in text
    assert "warning: modality 'noise'" in text


def test_regression_audit_uses_binary_waf(make_config) -> None:
    report = audit_modalities(build_splits(make_config(synthetic="mosi", synthetic_dialogues=40)))
    assert report.metric == "binary WAF"
    assert 0.0 <= report.majority <= 1.0


def test_data_audit_command_and_train_print_the_audit(tmp_path) -> None:
    runner = CliRunner()
    small = ["--synthetic", "iemocap4", "--synthetic-dialogues", "20"]
    result = runner.invoke(app, ["data", "audit", *small], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "| text |" in result.output
    assert "probes fit on train" in result.output
    bad = runner.invoke(app, ["data", "audit", "--data", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2
    assert bad.output.startswith("error:")
    tiny = [*small, "--hidden-dim", "16", "--num-heads", "2", "--epochs", "1", "--device", "cpu"]
    run = runner.invoke(app, ["train", *tiny, "--out", str(tmp_path)], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert "audit text:" in run.output
