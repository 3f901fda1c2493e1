"""A teacher frozen after its first epochs: no gradient, eval mode, fixed targets, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iteach_app.training.callbacks import without_timing
from iteach_app.training.trainer import Trainer
from tests.iteach.conftest import fit_quietly as _fit


def test_teacher_stops_changing_after_its_epochs(tmp_path: Path, make_config, tiny_data) -> None:
    config = make_config(epochs=3, teacher_epochs=1, distill_distance="cosine")
    trainer = Trainer(config, tmp_path / "run", data=tiny_data, verbose=False)
    seen = {}

    def snapshot(state) -> None:
        if state.epoch >= 1:  # in the frozen phase: the teacher never moves again
            weights = {k: v.clone() for k, v in trainer.model.teacher.state_dict().items()}
            if "first" in seen:
                for key, value in weights.items():
                    assert (value == seen["first"][key]).all(), key
            seen.setdefault("first", weights)
            assert not trainer.model.teacher.training
            assert all(not p.requires_grad for p in trainer.model.teacher.parameters())

    trainer.on_step = snapshot
    trainer.fit()
    epochs = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [e["teacher_frozen"] for e in epochs] == [False, True, True]
    assert "first" in seen


def test_frozen_teacher_run_resumes_identically(tmp_path: Path, make_config, tiny_data) -> None:
    config = make_config(epochs=3, teacher_epochs=1)
    whole = _fit(config, tmp_path / "whole", tiny_data)

    class Stop(Exception):
        pass

    def crash(state) -> None:
        if state.epoch == 2 and state.step == 1:
            raise Stop

    with pytest.raises(Stop):
        Trainer(config, tmp_path / "cut", data=tiny_data, verbose=False, on_step=crash).fit()
    resumed = Trainer(config, tmp_path / "cut", data=tiny_data, verbose=False, resume=True).fit()
    assert without_timing(resumed.history) == without_timing(whole.history)


def test_teacher_epochs_leave_the_last_epoch_to_the_student(
    tmp_path: Path, make_config, tiny_data
) -> None:
    _fit(make_config(epochs=2, teacher_epochs=10), tmp_path / "run", tiny_data)
    epochs = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [e.get("teacher_frozen") for e in epochs] == [False, True]
    pre = make_config(framework="pre", teacher_epochs=3)  # recorded, unused: no teacher
    assert pre.teacher_epochs == 3
