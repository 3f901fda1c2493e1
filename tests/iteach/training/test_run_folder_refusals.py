"""A training into a folder that already holds a run is refused with advice that fits: the same
settings may resume; other settings (e.g. `--preset paper` on data a run already used) must name
another folder, since `--resume` would continue the folder's own settings instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from iteach_app.config import resolve
from iteach_app.training.run_folder import RunFolder, RunFolderError


def _folder_with_a_checkpoint(tmp_path: Path):
    config = resolve(overrides={"synthetic": "iemocap4", "epochs": 2})
    folder = RunFolder(tmp_path / "synthetic-iemocap4-its-seed0")
    folder.create()
    folder.write_config(config)
    folder.last.parent.mkdir(parents=True)
    folder.last.write_bytes(b"a checkpoint")
    return folder, config


def test_the_same_settings_are_told_to_resume(tmp_path: Path) -> None:
    folder, config = _folder_with_a_checkpoint(tmp_path)
    with pytest.raises(RunFolderError, match=r"resume it \(--resume\).*--name NAME"):
        folder.check_can_train(config, resume=False)


def test_other_settings_are_told_to_name_another_folder_not_to_resume(tmp_path: Path) -> None:
    folder, config = _folder_with_a_checkpoint(tmp_path)
    paper = resolve(overrides={"synthetic": "iemocap4", "epochs": 2, "preset": "paper"})
    assert paper.config_hash() != config.config_hash()
    with pytest.raises(RunFolderError) as refused:
        folder.check_can_train(paper, resume=False)
    message = str(refused.value)
    assert "other settings" in message
    assert "--name NAME or --out DIR" in message
    assert "--resume" not in message
