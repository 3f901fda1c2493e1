"""Trainer: run folder contents, determinism, exact resume, selection protocol labels."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from iteach_app.training.callbacks import TIMING_KEYS, without_timing
from iteach_app.training.evaluation import evaluate_run
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.run_folder import RunFolderError
from tests.iteach.conftest import Interrupt, crash_at_step
from tests.iteach.conftest import fit_quietly as _fit

WORKER = Path(__file__).with_name("worker.py")


def _weights(run_dir: Path, name: str = "best") -> dict[str, torch.Tensor]:
    return load_file(run_dir / "checkpoints" / f"{name}.safetensors")


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_data, make_config):
    """One uninterrupted tiny ITS run (2 epochs x 3 steps)."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    return run_dir, _fit(make_config(), run_dir, tiny_data)


def test_run_folder_holds_everything(reference) -> None:
    run_dir, result = reference
    for name in ("config.toml", "config.json", "metrics.json", "metrics.csv", "ume.md"):
        assert (run_dir / name).is_file(), name
    for name in ("ume.csv", "ume.json", "ume.svg"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoints" / "best.safetensors").is_file()
    assert (run_dir / "checkpoints" / "last.safetensors").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert metrics["epochs"][0]["steps"] == 3
    assert metrics["epochs"][0]["train_distill_loss"] > 0
    assert (run_dir / "metrics.csv").read_text().count("\n") == 3
    ume = json.loads((run_dir / "ume.json").read_text())
    assert ume["rates"] == [0.0, 0.3, 0.7]
    assert ume["selected_on"] == "val"
    assert "validation split" in (run_dir / "ume.md").read_text()
    assert result.ume.per_rate == ume["per_rate"]
    assert result.best_epoch in (1, 2)


def test_same_seed_same_run(reference, tmp_path: Path, tiny_data, make_config) -> None:
    run_dir, result = reference
    again = _fit(make_config(), tmp_path / "again", tiny_data)
    assert without_timing(again.history) == without_timing(result.history)
    assert again.ume.per_rate == result.ume.per_rate
    assert _same_weights(_weights(run_dir, "last"), _weights(tmp_path / "again", "last"))


@pytest.mark.parametrize(("every", "crash_after"), [(1, 5), (2, 3)])
def test_resume_after_a_crash_matches_uninterrupted(
    reference, tmp_path: Path, tiny_data, make_config, every: int, crash_after: int
) -> None:
    """Crash mid-epoch (after global step `crash_after`; the last checkpoint may be older),
    resume: the same history, final UME and weights as the uninterrupted run."""
    run_dir, result = reference
    config = make_config(checkpoint_every=every)
    crashed = tmp_path / "crashed"

    crash = crash_at_step(crash_after)

    with pytest.raises(Interrupt):
        _fit(config, crashed, tiny_data, on_step=crash)
    assert not (crashed / "ume.json").exists()
    with pytest.raises(RunFolderError, match="--resume"):
        _fit(config, crashed, tiny_data)
    resumed = _fit(config, crashed, tiny_data, resume=True)
    assert without_timing(resumed.history) == without_timing(result.history)
    assert resumed.ume.per_rate == result.ume.per_rate
    assert _same_weights(_weights(run_dir, "last"), _weights(crashed, "last"))
    assert _same_weights(_weights(run_dir), _weights(crashed))
    assert _csv_without_timing(crashed) == _csv_without_timing(run_dir)


def _csv_without_timing(run_dir: Path) -> list[dict[str, str]]:
    """metrics.csv's rows without the wall-clock columns (the rest must match exactly)."""
    with (run_dir / "metrics.csv").open() as handle:
        return [
            {k: v for k, v in row.items() if k not in TIMING_KEYS} for row in csv.DictReader(handle)
        ]


def test_evaluate_gives_the_same_numbers_every_time(reference) -> None:
    run_dir, result = reference
    _, first = evaluate_run(run_dir, device="cpu")
    _, second = evaluate_run(run_dir, device="cpu")
    assert first.per_rate == second.per_rate == result.ume.per_rate


def test_select_on_test_is_labelled_everywhere(tmp_path: Path, tiny_data, make_config) -> None:
    run_dir = tmp_path / "run"
    _fit(make_config(select_on="test", epochs=1), run_dir, tiny_data)
    label = "selected on TEST (paper protocol)"
    assert label in (run_dir / "ume.md").read_text()
    assert label in (run_dir / "ume.csv").read_text().splitlines()[0]
    assert json.loads((run_dir / "ume.json").read_text())["selection_note"].endswith(label)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["selection_note"].endswith(label)
    assert metrics["epochs"][0]["selection_split"] == "test"


def test_frameworks_build_the_papers_pairs(tiny_data, make_config) -> None:
    dims, out = tiny_data.modality_dims, tiny_data.out_dim
    its = build_framework(make_config(), dims, out, "classification")
    assert (len(its.teacher.layers), len(its.student.layers)) == (3, 4)
    assert (its.teacher.mixer_kind, its.student.mixer_kind) == ("attention", "nas")
    assert its.student_layers == ("taps.3", "taps.2", "taps.1")
    ts = build_framework(make_config(framework="ts"), dims, out, "classification")
    assert (len(ts.teacher.layers), len(ts.student.layers)) == (4, 3)
    pre = build_framework(make_config(framework="pre"), dims, out, "classification")
    assert pre.teacher is None
    groups = {g["name"]: g["lr"] for g in build_optimizer(its, make_config()).param_groups}
    assert groups["student/router"] == make_config().router_lr
    assert groups["student/decay"] == groups["teacher/decay"] == make_config().lr
    assert "teacher/router" not in groups


def test_pre_trains_without_distillation(tmp_path: Path, tiny_data, make_config) -> None:
    result = _fit(make_config(framework="pre", epochs=1), tmp_path / "run", tiny_data)
    assert result.history[0]["train_distill_loss"] == 0.0
    assert "train_teacher_loss" not in result.history[0]


def test_resume_after_sigkill_matches_uninterrupted(
    reference, tmp_path: Path, tiny_data, make_config, tiny_overrides
) -> None:
    """A child process SIGKILLed mid-epoch 2 (after a checkpoint), resumed here: identical end."""
    run_dir, result = reference
    killed = tmp_path / "killed"
    overrides = {**tiny_overrides, "checkpoint_every": 1}
    args = [sys.executable, str(WORKER), json.dumps(overrides), str(killed), "4"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (killed / "ume.json").exists()
    resumed = _fit(make_config(checkpoint_every=1), killed, tiny_data, resume=True)
    assert without_timing(resumed.history) == without_timing(result.history)
    assert resumed.ume.per_rate == result.ume.per_rate
    assert _same_weights(_weights(run_dir, "last"), _weights(killed, "last"))


def test_keep_at_least_zero_drops_whole_utterances(tmp_path: Path, make_config) -> None:
    """keep_at_least=0 is accepted and reaches the masks: rate 0.7 is no longer capped at 2/3."""
    config = make_config(keep_at_least=0, epochs=1)
    result = _fit(config, tmp_path / "run", None)
    realised = dict(zip(result.ume.rates, result.ume.realised, strict=True))
    assert realised[0.7] == pytest.approx(0.7, abs=0.01)
    assert realised[0.7] > 2 / 3 + 0.01


def test_auxiliary_loss_of_a_model_is_added_and_logged(make_config, tiny_data) -> None:
    """A student with `auxiliary_loss()` adds it to the ITS loss; ITEACHNet has none."""
    from iteach_app.data import collate
    from iteach_app.training.step import run_step
    from missing_modality import ModalityMasker, parse_schedule

    config = make_config()
    its = build_framework(config, tiny_data.modality_dims, tiny_data.out_dim, tiny_data.task)
    batch = collate(tiny_data.train, [0, 1])
    kw = {"masker": ModalityMasker(its.student.modalities), "schedule": parse_schedule("random")}
    plain = run_step(its, batch, seed=0, epoch=0, step=0, **kw)
    assert "student_auxiliary_loss" not in plain.logs
    its.student.auxiliary_loss = lambda: torch.tensor(0.25)
    extra = run_step(its, batch, seed=0, epoch=0, step=0, **kw)
    assert extra.logs["student_auxiliary_loss"] == 0.25
    assert torch.isclose(extra.loss, plain.loss + 0.25)


def test_models_that_use_speakers_get_them(tiny_data) -> None:
    from iteach_app.data import DATA_SOURCES, collate
    from iteach_app.model import ModelContract
    from iteach_app.training.step import model_inputs

    class NeedsSpeakers(ModelContract):
        uses_speakers = True

    batch = collate(tiny_data.train, [0, 1])
    present = batch.utterance_mask.unsqueeze(-1).expand(-1, -1, 3)
    with_speakers = model_inputs(NeedsSpeakers(), batch, batch.features, present)
    assert torch.equal(with_speakers["speakers"], batch.speakers)
    assert "speakers" not in model_inputs(ModelContract(), batch, batch.features, present)
    assert set(DATA_SOURCES) == {"gcnet", "synthetic", "conversations"}
