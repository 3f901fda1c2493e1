"""The five baselines through the app: CLI train / evaluate / plot, MMIN's resumable
pre-training phase, compare grouping seeds, and the config rules of a baseline."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from iteach_app.config import resolve
from iteach_app.config.schema import MODEL_SETTINGS
from iteach_app.model import create_model
from iteach_app.training.callbacks import without_timing
from iteach_app.training.evaluation import predictor
from missing_modality.ume import takes_speakers
from tests.iteach.conftest import Interrupt, assert_same_checkpoint, crash_at_step, toml_text
from tests.iteach.conftest import fit_quietly as _fit
from tests.iteach.conftest import invoke_raising as _invoke

BASELINES = ("ae", "cra", "mmin", "gcnet", "cpm")


def _without_iteach_settings(tiny: dict) -> dict:
    """The tiny settings minus ITEACH-Net's sizes, which a baseline refuses (it has its own)."""
    return {key: value for key, value in tiny.items() if key not in MODEL_SETTINGS}


@pytest.fixture(scope="module")
def root(tmp_path_factory, tiny_overrides) -> Path:
    root = tmp_path_factory.mktemp("baselines")
    (root / "tiny.toml").write_text(toml_text(_without_iteach_settings(tiny_overrides)))
    return root


@pytest.mark.parametrize("model", BASELINES)
def test_each_baseline_trains_one_epoch_and_evaluate_reproduces_it(root: Path, model: str) -> None:
    args = ["train", "--config", root / "tiny.toml", "--model", model, "--epochs", 1]
    args += ["--mmin-pretrain-epochs", 0, "--out", root / model, "-q"]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    run = root / model / f"synthetic-iemocap4-{model}-seed0"
    stored = json.loads((run / "ume.json").read_text())
    again = json.loads(_invoke("evaluate", run, "--json").output)
    assert again["per_rate"] == stored["per_rate"]
    metrics = json.loads((run / "metrics.json").read_text())["epochs"][0]
    assert "train_distill_loss" in metrics
    assert metrics["train_distill_loss"] == 0.0
    assert metrics["train_student_auxiliary_loss"] >= 0.0


def test_plot_of_a_baseline_skips_the_iteach_figures(root: Path) -> None:
    run = root / "gcnet" / "synthetic-iemocap4-gcnet-seed0"
    if not run.is_dir():
        _invoke("train", "--config", root / "tiny.toml", "--model", "gcnet", "--epochs", 1,
                "--out", root / "gcnet", "-q")  # fmt: skip
    result = _invoke("plot", run)
    assert result.exit_code == 0, result.output
    assert (run / "figures" / "ume.png").is_file()
    assert not (run / "figures" / "ecce_bias.png").exists()
    assert "skipped" in result.output


def test_gcnet_gets_speakers_in_evaluation_and_the_others_do_not() -> None:
    dims = {"text": 8, "audio": 4}
    assert takes_speakers(predictor(create_model("gcnet", dims, 4), "classification"))
    assert not takes_speakers(predictor(create_model("ae", dims, 4), "classification"))


def test_mmin_resumes_mid_pretraining_like_an_uninterrupted_run(
    tmp_path: Path, tiny_data, tiny_overrides
) -> None:
    """3 epochs x 3 steps, the first 2 pre-training; a crash at global step 4 (epoch 2)."""
    config = resolve(
        overrides={
            **_without_iteach_settings(tiny_overrides),
            "model": "mmin", "epochs": 3, "mmin_pretrain_epochs": 2, "checkpoint_every": 1,
        }
    )  # fmt: skip
    reference = _fit(config, tmp_path / "reference", tiny_data)
    assert [r["phase"] for r in reference.history] == ["pretrain", "pretrain", "train"]
    assert reference.best_epoch == 3
    assert reference.history[0]["train_pretrain_loss"] > 0

    crash = crash_at_step(4)

    with pytest.raises(Interrupt):
        _fit(config, tmp_path / "crashed", tiny_data, on_step=crash)
    resumed = _fit(config, tmp_path / "crashed", tiny_data, resume=True)
    assert without_timing(resumed.history) == without_timing(reference.history)
    assert resumed.ume.per_rate == reference.ume.per_rate
    assert_same_checkpoint(tmp_path / "reference", tmp_path / "crashed")


def test_compare_groups_seeds_into_mean_and_std(root: Path) -> None:
    out = root / "cmp"
    for model, seeds in (("ae", "0,1"), ("cpm", "0")):
        result = _invoke("train", "--config", root / "tiny.toml", "--model", model,
                         "--epochs", 1, "--seed", seeds, "--out", out / model, "-q")  # fmt: skip
        assert result.exit_code == 0, result.output
    runs = sorted(out.glob("ae/synthetic-*")) + sorted(out.glob("cpm/synthetic-*"))
    assert len(runs) == 3
    result = _invoke("compare", *runs, "--out", out / "table")
    assert result.exit_code == 0, result.output
    table = (out / "table" / "compare.md").read_text()
    ae_row = next(line for line in table.splitlines() if line.startswith("| AE |"))
    cpm_row = next(line for line in table.splitlines() if line.startswith("| CPM-Net |"))
    averages = [json.loads((r / "ume.json").read_text())["average"]["waf"] for r in runs[:2]]
    cells = [c.strip() for c in ae_row.strip("|").split("|")]
    assert cells[1] == "2"
    assert cells[-2] == f"{statistics.mean(averages):.4f} ± {statistics.stdev(averages):.4f}"
    assert "±" not in cpm_row
    assert (out / "table" / "compare.png").stat().st_size > 0
    assert "CPM-Net" in (out / "table" / "compare.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "ae", "--student", "nas"], "drop student"),
        (["--model", "mmin", "--epochs", 2, "--mmin-pretrain-epochs", 2], "must exceed"),
        (["--model", "lstm"], "lstm"),
    ],
)
def test_bad_baseline_settings_exit_2(root: Path, args: list, message: str) -> None:
    result = _invoke("train", "--config", root / "tiny.toml", *args, "--out", root / "bad")
    assert result.exit_code == 2
    assert message in result.output


def test_compare_refuses_a_label_count_that_differs(root: Path) -> None:
    result = _invoke("compare", root / "x", root / "y", "--label", "one")
    assert result.exit_code == 2
    assert "--label" in result.output


def test_ime_sweep_tests_each_rate_model_at_its_own_rate(root: Path) -> None:
    """IME at R equals the UME at R of the model trained at R (same fixed test masks)."""
    out = root / "sweep"
    result = _invoke("sweep", "ime", "--config", root / "tiny.toml", "--model", "ae",
                     "--epochs", 1, "--eval-rates", "0,0.5", "--out", out, "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = out / "synthetic-iemocap4-ae-seed0-ime"
    ime = json.loads((folder / "ime.json").read_text())
    assert ime["rates"] == [0.0, 0.5]
    for index, rate in enumerate((0.0, 0.5)):
        run = folder / f"rate{rate:g}"
        assert (
            json.loads((run / "config.json").read_text())["mask_schedule"] == f"constant:{rate:g}"
        )
        own = json.loads((run / "ume.json").read_text())["per_rate"][index]
        assert ime["per_rate"][index] == own
    assert (folder / "ime.png").stat().st_size > 0
    assert "IME" in (folder / "ime.md").read_text()


def test_fig8_trains_at_rate_07_and_tests_everywhere(root: Path) -> None:
    out = root / "fig8"
    result = _invoke("sweep", "fig8", "--config", root / "tiny.toml", "--model", "cpm",
                     "--epochs", 1, "--out", out, "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = out / "synthetic-iemocap4-cpm-seed0-fig8"
    assert [p.name for p in folder.glob("rate*")] == ["rate0.7"]
    table = json.loads((folder / "fig8.json").read_text())
    assert table["rates"] == [0.0, 0.3, 0.7]
    own = json.loads((folder / "rate0.7" / "ume.json").read_text())
    assert table["per_rate"] == own["per_rate"]
