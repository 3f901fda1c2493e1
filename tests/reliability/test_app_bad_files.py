"""Bad files through `iteach-app` (feature folders, tables, TOML configs, run folders): one
`error:` line naming the file or key, exit 2, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()
FEATURES = ["--dataset", "IEMOCAPFour", "--features", "text=text-8-UTT", "--epochs", "1", "-q"]


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layout") / "clean"
    args = ["data", "synth", str(root), "--dialogues", "10", "--dims", "text=8,audio=4"]
    assert runner.invoke(app, args).exit_code == 0
    return root


def _spoiled(layout: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the layout and the path of one of its text feature files."""
    copy = tmp_path / "data"
    shutil.copytree(layout, copy)
    return copy, sorted((copy / "IEMOCAP" / "features" / "text-8-UTT").iterdir())[-1]


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY", b"not a numpy file at all"])
def test_broken_npy_names_the_file(layout, tmp_path, content) -> None:
    data, victim = _spoiled(layout, tmp_path)
    victim.write_bytes(content)
    _fails_clearly(["train", "--data", data, *FEATURES, "--out", tmp_path / "r"], victim.name)


def test_object_npy_is_refused(layout, tmp_path) -> None:
    data, victim = _spoiled(layout, tmp_path)
    np.save(victim, np.array([None] * 8, dtype=object), allow_pickle=True)
    _fails_clearly(["train", "--data", data, *FEATURES, "--out", tmp_path / "r"], victim.name)


def test_dims_differ_between_files(layout, tmp_path) -> None:
    data, victim = _spoiled(layout, tmp_path)
    np.save(victim, np.zeros(5, np.float32))
    _fails_clearly(["train", "--data", data, *FEATURES, "--out", tmp_path / "r"], victim.name)


def test_empty_feature_folder(layout, tmp_path) -> None:
    data, victim = _spoiled(layout, tmp_path)
    for item in victim.parent.iterdir():
        item.unlink()
    _fails_clearly(["train", "--data", data, *FEATURES, "--out", tmp_path / "r"], "text-8-UTT")


def test_unknown_feature_folder(layout, tmp_path) -> None:
    args = ["train", "--data", layout, *FEATURES[:2], "--features", "text=nope", "--epochs", "1"]
    _fails_clearly([*args, "--out", tmp_path / "r"], "nope")


def test_non_utf8_csv_table(tmp_path) -> None:
    table = tmp_path / "table.csv"
    table.write_bytes(b"utterance_id,text\nu1,caf\xe9\n")
    _fails_clearly(["features", "text", table, "--out", tmp_path / "o.npz"], "table.csv")


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("epochs = 2\nbogus_key = 3\n", "bogus_key"),
        ('epochs = "two"\n', "epochs"),
        ("epochs = true\n", "epochs"),
        ("hidden_dim = 1.5\n", "hidden_dim"),
        ("[features]\ntext = 3\n", "features.text"),
        ('eval_rates = ["a"]\n', "eval_rates[0]"),
        ("[epochs]\na = 1\n", "epochs"),
        ("x = [1,\n", "config.toml"),
    ],
)
def test_config_file_unknown_key_or_wrong_type(tmp_path, text, culprit) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    _fails_clearly(["train", "--config", config, "--synthetic", "mosi"], culprit)
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    result = runner.invoke(app, ["train", *TINY, "--out", str(out), "--name", "run"])
    assert result.exit_code == 0, result.output
    return out / "run"


def test_evaluate_or_plot_a_folder_that_is_not_a_run(tmp_path) -> None:
    _fails_clearly(["evaluate", tmp_path], "not an iteach-app run folder")
    _fails_clearly(["plot", tmp_path], str(tmp_path))


def test_run_whose_config_was_deleted_or_edited(finished, tmp_path) -> None:
    deleted = tmp_path / "deleted"
    shutil.copytree(finished, deleted)
    (deleted / "config.toml").unlink()
    _fails_clearly(["evaluate", deleted], "config.toml")
    edited = tmp_path / "edited"
    shutil.copytree(finished, edited)
    text = (edited / "config.toml").read_text()
    (edited / "config.toml").write_text(text.replace("epochs = 1", "epochs = 9"))
    _fails_clearly(["evaluate", edited], "config hash")


def test_plot_before_any_checkpoint(finished, tmp_path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(finished, bare)
    shutil.rmtree(bare / "checkpoints")
    _fails_clearly(["plot", bare], "best.safetensors")
