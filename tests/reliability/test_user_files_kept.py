"""Nothing the user owns is overwritten: `predict --out`, `plot --out` and `compare --out` refuse
an existing file (unless --overwrite) and any run folder; `--name` stays inside `--out`; the
predictions CSV cannot carry a spreadsheet formula."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from tests.iteach.own.conftest import features_option, write_own_table
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()
OWN = [
    *("--hidden-dim", "8", "--num-heads", "2", "--batch-size", "4", "--device", "cpu"),
    *("--eval-rates", "0,0.5", "--checkpoint-every", "0", "--epochs", "1", "-q"),
]


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> tuple[Path, Path, str]:
    """A finished run on an own table, and a new table + --features to predict."""
    data = tmp_path_factory.mktemp("own")
    table, features = write_own_table(data / "train")
    out = tmp_path_factory.mktemp("runs")
    result = _invoke(
        "train", "--conversations", table, "--features", features_option(features),
        "--out", out, "--name", "own", *OWN,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    new, new_features = write_own_table(data / "new", splits=None, seed=1)
    return out / "own", new, features_option(new_features)


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_predict_out_never_replaces_the_input_table(own_run) -> None:
    run, table, features = own_run
    copy = table.parent / "table.csv"
    copy.write_text("mine\n")
    args = ["predict", run, "--conversations", table, "--features", features, "--out", copy]
    _fails_clearly(args, "--overwrite")
    assert copy.read_text() == "mine\n"
    result = _invoke(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert copy.read_text().startswith("conversation_id,")


def test_predict_out_never_writes_into_a_run_folder(own_run) -> None:
    run, table, features = own_run
    before = _snapshot(run)
    for target in (run / "metrics.csv", run / "figures" / "p.csv", run / "new.jsonl"):
        args = ["predict", run, "--conversations", table, "--features", features, "--out", target]
        _fails_clearly([*args, "--overwrite"], "inside the run folder")
    assert _snapshot(run) == before


def test_predict_csv_cells_cannot_hold_formulas(own_run, tmp_path) -> None:
    run, _, _ = own_run
    table, features = write_own_table(tmp_path, splits=None, seed=3)
    rows = [json.loads(line) for line in table.read_text().splitlines()]
    evil, old = '=HYPERLINK("http://x","y")', rows[0]["utterance_id"]
    rows[0]["utterance_id"], rows[1]["conversation_id"] = evil, "+cmd|' /C calc'!A0"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    arrays = dict(np.load(features["text"]))
    arrays[evil] = arrays.pop(old)
    np.savez(features["text"], **arrays)
    out = tmp_path / "pred.csv"
    result = _invoke(
        "predict", run, "--conversations", table, "--features", f"text={features['text']}",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'" + evil in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("two")
    for name in ("a", "b"):
        result = _invoke("train", *TINY, "--out", out, "--name", name)
        assert result.exit_code == 0, result.output
    return out / "a", out / "b"


def test_plot_never_writes_into_another_run(two_runs) -> None:
    run_a, run_b = two_runs
    before = _snapshot(run_b)
    _fails_clearly(["plot", run_a, "--out", run_b, "--device", "cpu"], "inside the run folder")
    _fails_clearly(["plot", run_a, "--out", run_a, "--device", "cpu"], "inside the run folder")
    assert _snapshot(run_b) == before


def test_plot_out_keeps_existing_figures_unless_overwrite(two_runs, tmp_path) -> None:
    run_a, _ = two_runs
    (tmp_path / "ume.png").write_bytes(b"mine")
    _fails_clearly(["plot", run_a, "--out", tmp_path, "--device", "cpu"], "--overwrite")
    assert (tmp_path / "ume.png").read_bytes() == b"mine"


def test_compare_out_keeps_existing_files_and_run_folders(two_runs, tmp_path) -> None:
    run_a, run_b = two_runs
    (tmp_path / "compare.md").write_text("mine")
    _fails_clearly(["compare", run_a, run_b, "--out", tmp_path], "--overwrite")
    assert (tmp_path / "compare.md").read_text() == "mine"
    before = _snapshot(run_b)
    _fails_clearly(["compare", run_a, "--out", run_b, "--overwrite"], "inside the run folder")
    assert _snapshot(run_b) == before
    labels = ("--label", "a", "--label", "b")
    result = _invoke("compare", run_a, run_b, *labels, "--out", tmp_path, "--overwrite")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["../x", "", ".", "..", "a/b", "ABSOLUTE"])
def test_run_name_is_one_plain_folder(tmp_path, name) -> None:
    out = tmp_path / "out"
    absolute = tmp_path / "abs"
    name = str(absolute) if name == "ABSOLUTE" else name
    _fails_clearly(["train", *TINY, "--out", out, "--name", name], "--name")
    assert not (tmp_path / "x").exists()
    assert not out.exists()
    assert not absolute.exists()


def test_a_corrupt_ume_json_in_compare_names_the_file(two_runs, tmp_path) -> None:
    run_a, _ = two_runs
    copy = tmp_path / "copy"
    shutil.copytree(run_a, copy, ignore=shutil.ignore_patterns(".iteach-app.lock"))
    for text in ("{not json", "[1, 2]", '{"format": "x"}'):
        (copy / "ume.json").write_text(text)
        _fails_clearly(["compare", copy, "--out", tmp_path / "c"], "ume.json")
