"""A run folder is never changed by a command that refuses; one writer at a time (lock with
pid and host, stale locks recovered); files follow the umask."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from iteach_app.config import resolve
from iteach_app.training.run_folder import RunFolder, RunFolderError
from iteach_app.training.trainer import Trainer

TINY = {
    "synthetic": "mosi",
    "synthetic_dialogues": 14,
    "synthetic_dims": {"text": 8, "audio": 4},
    "synthetic_max_length": 8,
    "hidden_dim": 8,
    "num_heads": 2,
    "epochs": 1,
    "batch_size": 4,
    "device": "cpu",
    "checkpoint_every": 0,
    "eval_rates": [0.0, 0.5],
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_second_training_into_a_busy_folder_is_refused_and_the_first_is_intact(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    refusals: list[str] = []

    def second_writer(state) -> None:
        if state.global_step == 1:
            with pytest.raises(RunFolderError, match=f"pid {os.getpid()}") as err:
                Trainer(resolve(overrides={**TINY, "epochs": 2}), run, verbose=False).fit()
            refusals.append(str(err.value))

    first = Trainer(resolve(overrides=TINY), run, verbose=False, on_step=second_writer).fit()
    assert len(refusals) == 1
    assert "\n" not in refusals[0]
    assert first.ume is not None
    assert (run / "ume.json").is_file()
    before = _snapshot(run)
    with pytest.raises(RunFolderError, match="already holds"):  # a finished run, no --resume
        Trainer(resolve(overrides={**TINY, "epochs": 2}), run, verbose=False).fit()
    assert _snapshot(run) == before
    assert not RunFolder(run).lock_file.exists()


def test_resume_with_another_config_is_refused_before_writing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(resolve(overrides=TINY), run, verbose=False).fit()
    before = _snapshot(run)
    with pytest.raises(RunFolderError, match="config hash"):
        Trainer(resolve(overrides={**TINY, "epochs": 3}), run, resume=True, verbose=False).fit()
    assert _snapshot(run) == before


def test_stale_lock_of_a_dead_process_is_recovered(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    folder = RunFolder(tmp_path)
    folder.lock_file.write_text(f"{int(dead.stdout)}\n{socket.gethostname()}\n")
    folder.acquire()
    assert folder.lock_file.read_text().splitlines()[0] == str(os.getpid())
    folder.release()
    assert not folder.lock_file.exists()


def test_lock_of_another_host_is_respected(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.lock_file.write_text("1\nelsewhere.example\n")
    with pytest.raises(RunFolderError, match=r"pid 1 on elsewhere\.example"):
        folder.acquire()
    assert folder.lock_file.read_text() == "1\nelsewhere.example\n"


def test_an_unreadable_lock_is_respected_and_kept(tmp_path: Path) -> None:
    """A lock file that names no holder (an older version's, or a garbled one) is not broken."""
    folder = RunFolder(tmp_path)
    folder.lock_file.write_text(json.dumps({"pid": 1, "host": "elsewhere.example"}))
    with pytest.raises(RunFolderError, match="another process"):
        folder.acquire()
    assert folder.lock_file.exists()


def test_a_second_run_folder_object_in_this_process_is_refused(tmp_path: Path) -> None:
    first, second = RunFolder(tmp_path), RunFolder(tmp_path)
    first.acquire()
    with pytest.raises(RunFolderError, match=f"pid {os.getpid()} on {socket.gethostname()}"):
        second.acquire()
    second.release()
    assert first.lock_file.exists()
    first.release()
    assert not first.lock_file.exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_run_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        Trainer(resolve(overrides=TINY), tmp_path / "run", verbose=False).fit()
    finally:
        os.umask(old)
    folder = RunFolder(tmp_path / "run")
    for path in (
        folder.config_toml,
        folder.metrics_json,
        folder.ume["json"],
        folder.ume["svg"],
        folder.last,
        folder.best,
    ):
        assert path.stat().st_mode & 0o777 == mode, path


@pytest.mark.parametrize("resume", [False, True])
def test_finished_run_without_its_checkpoints_is_not_silently_retrained(
    tmp_path: Path, resume: bool
) -> None:
    run = tmp_path / "run"
    Trainer(resolve(overrides=TINY), run, verbose=False).fit()
    for checkpoint in (run / "checkpoints").iterdir():
        checkpoint.unlink()
    before = _snapshot(run)
    with pytest.raises(RunFolderError, match="no checkpoint to resume"):
        Trainer(resolve(overrides=TINY), run, resume=resume, verbose=False).fit()
    assert _snapshot(run) == before
