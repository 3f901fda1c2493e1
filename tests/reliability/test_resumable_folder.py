"""A run folder is resumable from the moment it exists: a SIGKILL right after an epoch's metrics,
a checkpoint interval longer than an epoch, a full disk or Ctrl-C leave a folder that `train
--resume` continues, with no stray temp file; Ctrl-C says so and prints the command."""

from __future__ import annotations

import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
DIE_AFTER_METRICS = """
import os, signal, sys
from iteach_app.training.run_folder import RunFolder
write_metrics = RunFolder.write_metrics
def write_then_die(self, *args, **kwargs):
    write_metrics(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
RunFolder.write_metrics = write_then_die
from iteach_app.cli import app
sys.argv = ["iteach-app", *sys.argv[1:]]
app()
"""


def _cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "iteach_app", *(str(a) for a in args)]


def _no_temp_files(run: Path) -> None:
    assert [p.name for p in run.rglob("*.tmp")] == []


def _resumes(run: Path) -> None:
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.output
    assert (run / "ume.json").is_file()
    _no_temp_files(run)


@pytest.mark.parametrize("every", ["0", "25"])
def test_sigkill_right_after_the_first_metrics_leaves_a_resumable_folder(tmp_path, every) -> None:
    run = tmp_path / "run"
    args = ["train", *TINY[:-3], "--epochs", "2", "--checkpoint-every", every, "--out", tmp_path]
    done = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_METRICS, *(str(a) for a in args), "--name", "run", "-q"],
        env=ENV,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert (run / "metrics.json").is_file()
    assert (run / "checkpoints" / "last.safetensors").is_file()
    _resumes(run)


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_leaves_a_resumable_folder_without_temp_files(tmp_path) -> None:
    run = tmp_path / "run"
    done = subprocess.run(
        _cli("train", *TINY, "--out", tmp_path, "--name", "run"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size(200_000),  # config and best fit, last.safetensors does not
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"iteach-app train --resume {shlex.quote(str(run))}" in lines[0]
    assert (run / "config.toml").is_file()
    _no_temp_files(run)
    _resumes(run)


def test_stale_temp_files_of_a_killed_write_are_removed_on_resume(tmp_path) -> None:
    run = tmp_path / "run"
    assert (
        runner.invoke(app, ["train", *TINY, "--out", str(tmp_path), "--name", "run"]).exit_code == 0
    )
    (run / "ume.json").unlink()
    stale = [run / ".metrics.json.x1y2.tmp", run / "checkpoints" / ".last.safetensors.a.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    _resumes(run)


def test_metrics_without_a_checkpoint_resume_from_epoch_one(tmp_path) -> None:
    """An interrupted folder (metrics, no ume.json) without a checkpoint, as the old order of
    writes left them: `--resume` trains it again from epoch 1 (a finished one stays refused)."""
    run = tmp_path / "run"
    assert (
        runner.invoke(app, ["train", *TINY, "--out", str(tmp_path), "--name", "run"]).exit_code == 0
    )
    (run / "checkpoints" / "last.safetensors").unlink()
    for path in run.glob("ume.*"):
        path.unlink()
    _fails_clearly(["train", *TINY, "--out", tmp_path, "--name", "run"], "--resume")
    _resumes(run)


def test_ctrl_c_exits_130_and_prints_the_resume_command(tmp_path) -> None:
    run = tmp_path / "run"
    # No early stopping: the run must still be training when the signal comes.
    args = [
        *TINY[:-3],
        "--epochs",
        "500",
        "--patience",
        "0",
        "-q",
        "--out",
        tmp_path,
        "--name",
        "run",
    ]
    # The child gets SIGINT's default disposition: a test run earlier in this process (Ray)
    # may have set it to ignored, which a child would inherit and Python would then respect.
    process = subprocess.Popen(
        _cli("train", *args),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not (run / "metrics.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    command = f"iteach-app train --resume {shlex.quote(str(run))}"
    assert "resumable" in stderr
    assert command in stderr
    assert "Traceback" not in stderr
    assert not (run / ".iteach-app.lock").exists()
    _no_temp_files(run)
