"""Everyday mistakes through `iteach-app`: each is one `error:` line naming its culprit, exit 2,
no traceback; `--debug` shows the traceback instead."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from iteach_app.cli import app

runner = CliRunner()
TINY = [
    "--synthetic", "mosi", "--synthetic-dialogues", "14", "--synthetic-dims", "text=8,audio=4",
    "--synthetic-max-length", "8", "--hidden-dim", "8", "--num-heads", "2", "--epochs", "1",
    "-b", "4", "--device", "cpu", "-q",
]  # fmt: skip


def _fails_clearly(args: list, culprit: str) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert culprit in lines[0]
    assert "Traceback" not in result.output


def test_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    _fails_clearly(["train", *TINY, "--out", tmp_path / "file"], str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "mine"


def test_out_not_writable() -> None:
    _fails_clearly(["train", *TINY, "--out", "/proc/iteach-runs"], "/proc/iteach-runs")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu(tmp_path: Path) -> None:
    _fails_clearly(["train", *TINY[:-3], "--device", "cuda", "--out", tmp_path], "--device cuda")


def test_negative_seed(tmp_path: Path) -> None:
    _fails_clearly(["train", *TINY, "--seed", "-1", "--out", tmp_path], "--seed")


def test_evaluate_bogus_split(tmp_path: Path) -> None:
    _fails_clearly(["evaluate", tmp_path, "--split", "bogus"], "--split")


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('cache_dir = "caf\xe9"\n'.encode("latin-1"))
    _fails_clearly(["train", "--config", path, *TINY, "--out", tmp_path], "not UTF-8")


def test_config_is_a_folder(tmp_path: Path) -> None:
    _fails_clearly(["train", "--config", tmp_path, *TINY, "--out", tmp_path], "is a folder")


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_bad_mlp_ratio_flag(tmp_path: Path, value: str) -> None:
    _fails_clearly(["train", *TINY, "--mlp-ratio", value, "--out", tmp_path], "mlp_ratio")


def test_nan_mlp_ratio_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("mlp_ratio = nan\n")
    _fails_clearly(["train", "--config", path, *TINY, "--out", tmp_path], "mlp_ratio")


def test_nan_layer_weights(tmp_path: Path) -> None:
    args = ["train", *TINY, "--layer-weights", "nan,0.1,0.05", "--out", tmp_path]
    _fails_clearly(args, "layer_weights")


def test_unknown_option_and_bad_choice(tmp_path: Path) -> None:
    _fails_clearly(["train", "--bogus"], "--bogus")
    _fails_clearly(["train", *TINY, "--framework", "kd", "--out", tmp_path], "--framework")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "train", *TINY, "--seed", "-1", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)
    assert "--seed" in str(result.exception)


def test_version_and_short_batch_flag_and_choices_in_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.strip().startswith("iteach-app ")
    help_text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).stdout
    assert "-b" in help_text
    assert "its|ts|pre" in help_text
    assert "full|global|none" in help_text
