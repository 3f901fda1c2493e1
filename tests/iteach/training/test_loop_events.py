"""The training loop's events (which fire, in which order, in which phase) for tiny 2-epoch runs
with a pre-training phase and with a teacher freeze; resume after an epoch matches a run that
was never interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file

from iteach_app.training.callbacks import without_timing
from iteach_app.training.loop import Callback, TrainLoop
from iteach_app.training.phases import Phase, PhasePlan
from iteach_app.training.run_folder import RunFolder
from iteach_app.training.trainer import Trainer

STEPS = 3  # the tiny config's 14 conversations: 10 train -> 3 batches of at most 4


class Recorder(Callback):
    """Each event with the epoch, the step, the loop's phase and the models' state then."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def _note(self, loop: TrainLoop, event: str) -> None:
        student = loop.model.student
        self.events.append(
            (
                event,
                loop.state.epoch,
                loop.state.step,
                loop.phase,
                bool(loop.model.freeze_teacher),
                student.pretraining_finished,
            )
        )

    def on_train_begin(self, loop: TrainLoop) -> None:
        self._note(loop, "train_begin")

    def on_epoch_begin(self, loop: TrainLoop) -> None:
        self._note(loop, "epoch_begin")

    def on_step_end(self, loop: TrainLoop) -> None:
        self._note(loop, "step_end")
        self.events[-1] += (sorted(loop.last_step.logs),)

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        self._note(loop, "evaluate")
        self.events[-1] += ({k: record.get(k) for k in ("phase", "teacher_frozen", "best")},)

    def on_epoch_end(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        self._note(loop, "epoch_end")

    def on_epoch_closed(self, loop: TrainLoop) -> None:
        self._note(loop, "epoch_closed")

    def on_train_end(self, loop: TrainLoop) -> None:
        self._note(loop, "train_end")


def _record(config, run_dir: Path, data) -> Recorder:
    recorder = Recorder()
    Trainer(config, run_dir, data=data, verbose=False, callbacks=[recorder]).fit()
    return recorder


def _names(recorder: Recorder) -> list[str]:
    return [event[0] for event in recorder.events]


EPOCH = ["epoch_begin", *["step_end"] * STEPS, "evaluate", "epoch_end", "epoch_closed"]


def test_phase_plan_is_a_function_of_the_epoch() -> None:
    plan = PhasePlan(pretrain_epochs=1, teacher_epochs=2)
    assert [plan.at(e) for e in range(3)] == [
        Phase(pretraining=True, teacher_frozen=False),
        Phase(pretraining=False, teacher_frozen=False),
        Phase(pretraining=False, teacher_frozen=True),
    ]
    assert plan.record(plan.at(0)) == {"teacher_frozen": False, "phase": "pretrain"}
    assert PhasePlan().record(PhasePlan().at(5)) == {}  # nothing to say without phases
    with pytest.raises(ValueError, match="teacher epochs"):
        PhasePlan(teacher_epochs=-1)


def test_event_order_with_a_pretraining_phase(tmp_path: Path, make_config, tiny_data) -> None:
    config = make_config(model="mmin", mmin_pretrain_epochs=1)
    recorder = _record(config, tmp_path / "run", tiny_data)
    assert _names(recorder) == ["train_begin", *EPOCH, *EPOCH, "train_end"]
    by_epoch = {e: [ev for ev in recorder.events if ev[1] == e and ev[0] != "epoch_closed"]
                for e in (0, 1)}  # fmt: skip
    pretrain, train = Phase(pretraining=True), Phase()
    # epoch 1: the student's pretrain_loss alone; its phase is not finished until epoch 2 begins
    assert {ev[3] for ev in by_epoch[0]} == {pretrain}
    assert {ev[5] for ev in by_epoch[0]} == {False}
    assert all(ev[6] == ["loss", "pretrain_loss"] for ev in by_epoch[0] if ev[0] == "step_end")
    assert next(ev for ev in by_epoch[0] if ev[0] == "evaluate")[6] == {
        "phase": "pretrain", "teacher_frozen": None, "best": False,
    }  # fmt: skip
    # epoch 2: finish_pretraining ran before on_epoch_begin; ITS steps with the auxiliary loss
    assert {ev[3] for ev in by_epoch[1]} == {train}
    assert {ev[5] for ev in by_epoch[1]} == {True}
    steps = [ev for ev in by_epoch[1] if ev[0] == "step_end"]
    assert all("student_auxiliary_loss" in ev[6] and "pretrain_loss" not in ev[6] for ev in steps)
    assert next(ev for ev in by_epoch[1] if ev[0] == "evaluate")[6]["phase"] == "train"


def test_event_order_with_a_teacher_freeze(tmp_path: Path, make_config, tiny_data) -> None:
    config = make_config(teacher_epochs=1)
    recorder = _record(config, tmp_path / "run", tiny_data)
    assert _names(recorder) == ["train_begin", *EPOCH, *EPOCH, "train_end"]
    frozen = {ev[1]: ev[4] for ev in recorder.events if ev[0] in ("epoch_begin", "step_end")}
    assert frozen == {0: False, 1: True}  # frozen before epoch 2's first event
    phases = [ev[3] for ev in recorder.events if ev[0] == "evaluate"]
    assert phases == [Phase(teacher_frozen=False), Phase(teacher_frozen=True)]
    records = [ev[6] for ev in recorder.events if ev[0] == "evaluate"]
    assert [r["teacher_frozen"] for r in records] == [False, True]
    assert all(r["phase"] is None for r in records)  # no pre-training phase to report


@pytest.mark.parametrize(
    "overrides",
    [{"model": "mmin", "mmin_pretrain_epochs": 1}, {"teacher_epochs": 1}, {}],
    ids=["pretraining", "teacher-freeze", "its"],
)
def test_resume_after_an_epoch_matches_an_uninterrupted_run(
    tmp_path: Path, make_config, tiny_data, overrides
) -> None:
    config = make_config(epochs=3, **overrides)
    whole = Trainer(config, tmp_path / "whole", data=tiny_data, verbose=False).fit()

    class Stop(Exception):
        pass

    def interrupt(state) -> None:
        if state.epoch == 1 and state.step == 1:  # after epoch 1 closed (its checkpoint saved)
            raise Stop

    with pytest.raises(Stop):
        Trainer(config, tmp_path / "cut", data=tiny_data, verbose=False, on_step=interrupt).fit()
    resumed = Trainer(config, tmp_path / "cut", data=tiny_data, verbose=False, resume=True).fit()
    assert without_timing(resumed.history) == without_timing(whole.history)
    assert (resumed.best_epoch, resumed.best_metric) == (whole.best_epoch, whole.best_metric)
    assert resumed.ume.to_dict() == whole.ume.to_dict()
    cut_folder, whole_folder = RunFolder(tmp_path / "cut"), RunFolder(tmp_path / "whole")
    for which in ("last", "best"):
        cut = load_file(getattr(cut_folder, which))
        ref = load_file(getattr(whole_folder, which))
        assert cut.keys() == ref.keys()
        assert all((cut[k] == ref[k]).all() for k in ref), which
