"""The command line end to end on tiny synthetic data: train, evaluate, resume, plot, data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.iteach.conftest import invoke_raising as _invoke
from tests.iteach.conftest import toml_text


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_overrides) -> tuple[Path, str]:
    """`iteach-app train --config tiny.toml --epochs 1 --seed 0,1` (options beat the file)."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "tiny.toml"
    config.write_text(toml_text(tiny_overrides))
    result = _invoke(
        "train", "--config", config, "--epochs", 1, "--seed", "0,1", "--out", root, "-q"
    )
    assert result.exit_code == 0, result.output
    return root, result.output


def test_train_writes_one_run_per_seed_and_a_summary(trained) -> None:
    root, output = trained
    runs = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert runs == ["synthetic-iemocap4-its-seed0", "synthetic-iemocap4-its-seed1"]
    assert output.count("UME on the test split") == 2
    assert "Summary" in output
    assert "mean ± std" in output
    assert "epochs = 1\n" in (root / runs[0] / "config.toml").read_text()


def test_evaluate_prints_the_runs_table(trained) -> None:
    root, _ = trained
    run = root / "synthetic-iemocap4-its-seed0"
    first, second = _invoke("evaluate", run, "--device", "cpu"), _invoke("evaluate", run)
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    table = (run / "ume.md").read_text().split("\n\n", 2)[2]
    assert table in first.output
    as_json = json.loads(_invoke("evaluate", run, "--json").output)
    assert as_json["per_rate"] == json.loads((run / "ume.json").read_text())["per_rate"]


def test_resume_of_a_finished_run_reports_the_same(trained) -> None:
    root, _ = trained
    run = root / "synthetic-iemocap4-its-seed1"
    before = (run / "ume.md").read_text()
    result = _invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.output
    assert (run / "ume.md").read_text() == before


def test_plot_writes_the_papers_figures(trained) -> None:
    root, _ = trained
    run = root / "synthetic-iemocap4-its-seed0"
    result = _invoke("plot", run)
    assert result.exit_code == 0, result.output
    for name in ("ume.png", "confusion.png", "ecce_bias.png", "tsne.png"):
        assert (run / "figures" / name).stat().st_size > 1000, name


def test_a_corrupt_checkpoint_is_a_clear_error(trained, tmp_path: Path) -> None:
    root, _ = trained
    run = tmp_path / "copy"
    run.mkdir()
    (run / "config.toml").write_text(
        (root / "synthetic-iemocap4-its-seed0" / "config.toml").read_text()
    )
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "best.safetensors").write_bytes(b"\x80\x04not a checkpoint at all")
    result = _invoke("evaluate", run)
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "best.safetensors" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "mosi", "--framework", "kd"], "Invalid value"),
        (["--data", "nowhere", "--dataset", "CMUMOSI", "--features", "text"], "NAME=VALUE"),
        (["--data", "nowhere", "--dataset", "CMUMOSI", "--features", "text=x"], "not found"),
        (["--synthetic", "mosi", "--seed", "a,b"], "--seed"),
    ],
)
def test_bad_options_exit_2_with_a_message(tmp_path: Path, args: list, message: str) -> None:
    result = _invoke("train", *args, "--out", tmp_path)
    assert result.exit_code == 2
    assert message in result.output


def test_data_synth_then_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERC_DATA_CACHE", str(tmp_path / "cache"))
    made = _invoke("data", "synth", tmp_path, "--dialogues", 6, "--dims", "text=8,audio=4")
    assert made.exit_code == 0, made.output
    args = ["--data", tmp_path / "IEMOCAP", "--dataset", "IEMOCAPFour"]
    info = _invoke("data", "info", *args, "--features", "text=text-8-UTT,audio=audio-4-UTT")
    assert info.exit_code == 0, info.output
    assert "6 conversations" in info.output
    assert "text (8), audio (4)" in info.output


def test_resume_refuses_new_settings(trained) -> None:
    root, _ = trained
    run = root / "synthetic-iemocap4-its-seed1"
    result = _invoke("train", "--resume", run, "--epochs", 5, "--lr", 0.1)
    assert result.exit_code == 2
    assert "drop --lr, --epochs" in result.output or "drop --epochs, --lr" in result.output


def test_params_prints_counts_beside_the_papers_table_3() -> None:
    from iteach_app.model import PAPER_DIMS, count_parameters, create_model

    result = _invoke("params")
    assert result.exit_code == 0, result.output
    teacher, student = (
        create_model("iteach_teacher", PAPER_DIMS, 4),
        create_model("iteach_student", PAPER_DIMS, 4),
    )
    assert f"{count_parameters(teacher):,}" in result.output
    assert f"{count_parameters(student):,}" in result.output
    assert "2.19" in result.output
    assert "3.88" in result.output
