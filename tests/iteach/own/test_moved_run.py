"""A run on your own conversations records absolute, resolved data paths (and paths relative to
the run folder), so `evaluate` works from any working folder and after the run folder is moved
together with its data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

from tests.iteach.own.conftest import tiny_model_flags

TINY_MODEL = tiny_model_flags()
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _cli(cwd: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "iteach_app", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_run_opens_from_another_folder_and_after_a_move(tmp_path: Path, own_table) -> None:
    project = tmp_path / "project"
    table, features = own_table(project / "data")
    relative = ",".join(f"{m}={Path(p).relative_to(project)}" for m, p in features.items())
    done = _cli(
        project, "train", "--conversations", "data/table.jsonl", "--features", relative,
        "--epochs", 1, "--out", "runs", "--name", "own", "-q", *TINY_MODEL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = project / "runs" / "own"
    recorded = tomllib.loads((run / "config.toml").read_text())
    assert recorded["conversations"] == str(table.resolve())
    assert recorded["features"]["text"] == str((project / "data" / "text.npz").resolve())
    fallback = json.loads((run / "config.json").read_text())["data_paths_relative_to_run"]
    assert fallback["conversations"] == os.path.join("..", "..", "data", "table.jsonl")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = _cli(elsewhere, "evaluate", run)
    assert first.returncode == 0, first.stderr

    moved = tmp_path / "moved"
    shutil.move(project, moved)
    second = _cli(elsewhere, "evaluate", moved / "runs" / "own")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout.replace(str(project), str(moved))
