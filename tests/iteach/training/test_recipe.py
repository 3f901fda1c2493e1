"""The training recipe: LR schedule, label smoothing and class weights, early stopping, presets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from iteach_app.config import ConfigError, resolve
from iteach_app.config.presets import PAPER, PRESETS
from iteach_app.training.callbacks import EarlyStopping, without_timing
from iteach_app.training.framework import build_framework
from iteach_app.training.loop import TrainState
from iteach_app.training.optim import (
    Criterion,
    LRSchedule,
    build_optimizer,
    build_schedule,
    inverse_frequency_weights,
)
from iteach_app.training.trainer import Trainer
from its_distill import ITSOutput
from tests.iteach.conftest import Interrupt, crash_at_step


# ---------------------------------------------------------------- LR schedule
def _hand_factor(step: int, total: int, warmup: int, kind: str) -> float:
    if step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min((step - warmup) / (total - warmup), 1.0)))


@pytest.mark.parametrize("kind", ["constant", "cosine"])
def test_schedule_factors_follow_the_warmup_and_cosine_formula(kind: str) -> None:
    schedule = LRSchedule(kind, total_steps=40, warmup_steps=4)
    for step in range(45):
        assert schedule.factor(step) == pytest.approx(_hand_factor(step, 40, 4, kind))
    assert schedule.factor(0) == pytest.approx(0.25)
    assert schedule.factor(3) == 1.0
    if kind == "cosine":
        assert schedule.factor(22) == pytest.approx(0.5)  # halfway through the decay
        assert schedule.factor(40) == pytest.approx(0.0)


def test_schedule_scales_every_group_from_its_own_base_rate(make_config, tiny_data) -> None:
    config = make_config(lr=1e-3, router_lr=5e-3, lr_schedule="cosine", warmup_fraction=0.25)
    model = build_framework(config, tiny_data.modality_dims, tiny_data.out_dim, tiny_data.task)
    optimizer = build_optimizer(model, config)
    schedule = build_schedule(config, steps_per_epoch=3)  # 2 epochs x 3 steps, warm-up 2 steps
    assert (schedule.total_steps, schedule.warmup_steps) == (6, 2)
    bases = sorted({g["base_lr"] for g in optimizer.param_groups})
    assert bases == [1e-3, 5e-3]
    schedule.scheduler(optimizer, 0)
    assert all(g["lr"] == pytest.approx(g["base_lr"] * 0.5) for g in optimizer.param_groups)
    schedule.scheduler(optimizer, 4)
    expected = 0.5 * (1 + math.cos(math.pi * 2 / 4))
    assert all(g["lr"] == pytest.approx(g["base_lr"] * expected) for g in optimizer.param_groups)


@pytest.mark.parametrize("kind", ["constant", "cosine"])
@pytest.mark.parametrize("resume_at", [0, 3, 17])
def test_torch_scheduler_gives_the_hand_schedules_rate_at_every_step(
    kind: str, resume_at: int
) -> None:
    """Every optimiser step of a run (and of one resumed at ``resume_at``) sees the rate of the
    closed-form schedule the loop applied by hand before: base_lr * factor(step)."""
    weights = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    groups = [{"params": [weights[0]], "lr": 1e-3}, {"params": [weights[1]], "lr": 5e-3}]
    optimizer = torch.optim.AdamW(groups)
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
    schedule = LRSchedule(kind, total_steps=24, warmup_steps=5)
    scheduler = schedule.scheduler(optimizer, resume_at)
    for step in range(resume_at, 30):  # past total_steps: the cosine stays at 0
        for group in optimizer.param_groups:
            expected = group["base_lr"] * _hand_factor(step, 24, 5, kind)
            assert group["lr"] == pytest.approx(expected, rel=1e-12, abs=1e-15), step
        optimizer.step()
        scheduler.step()


# ---------------------------------------------------------------- criterion
def _hand_loss(logits, target, valid, smoothing: float, weights) -> float:
    """Weighted, smoothed cross-entropy by loops: sum_i w_yi * [(1-e) nll_yi + e/C sum_c
    (w_c / w_yi) nll_c] / sum_i w_yi, over valid positions (torch's definition)."""
    classes = logits.shape[-1]
    w = [1.0] * classes if weights is None else [float(x) for x in weights]
    total, norm = 0.0, 0.0
    for b in range(logits.shape[0]):
        for t in range(logits.shape[1]):
            if not valid[b, t]:
                continue
            row = [float(v) for v in logits[b, t]]
            top = max(row)
            log_z = top + math.log(sum(math.exp(v - top) for v in row))
            nll = [log_z - v for v in row]
            y = int(target[b, t])
            total += (1 - smoothing) * w[y] * nll[y]
            total += smoothing / classes * sum(w[c] * nll[c] for c in range(classes))
            norm += w[y]
    return total / norm


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("smoothing", "weighted"), [(0.0, False), (0.1, False), (0.2, True)])
def test_criterion_matches_a_hand_loop_with_padding(dtype, smoothing, weighted) -> None:
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 5, 4, generator=gen, dtype=dtype)
    target = torch.randint(0, 4, (3, 5), generator=gen)
    valid = torch.ones(3, 5, dtype=torch.bool)
    valid[1, 3:] = False
    valid[2, 1:] = False
    logits[~valid] = 1e4  # padding must not count
    weights = torch.tensor([0.5, 2.0, 1.0, 3.0]) if weighted else None
    loss = Criterion(smoothing, weights)(logits, target, valid)
    assert loss.dtype == dtype
    assert float(loss) == pytest.approx(_hand_loss(logits, target, valid, smoothing, weights))


def test_smoothing_raises_the_loss_of_confident_right_answers() -> None:
    logits = torch.tensor([[[8.0, 0.0, 0.0], [0.0, 8.0, 0.0]]])
    target, valid = torch.tensor([[0, 1]]), torch.ones(1, 2, dtype=torch.bool)
    plain, smoothed = Criterion(0.0)(logits, target, valid), Criterion(0.1)(logits, target, valid)
    assert float(smoothed) > float(plain) + 0.1


def test_class_weights_are_inverse_frequency_and_shift_the_loss() -> None:
    weights = inverse_frequency_weights({0: 30, 1: 10, 2: 0, 3: 20}, 4)
    assert weights.tolist() == pytest.approx([60 / 120, 60 / 40, 0.0, 60 / 80])
    # a mistake on the rare class costs more than on the common class once weighted
    logits = torch.tensor([[[0.0, 3.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    rare_wrong = torch.tensor([[0, 0]])  # position 0 (class 0, common) wrong, 1 right
    common_wrong = torch.tensor([[1, 1]])  # position 1 (class 1, rare) wrong, 0 right
    crit = Criterion(0.0, weights)
    assert float(crit(logits, common_wrong, valid)) > float(crit(logits, rare_wrong, valid))
    with pytest.raises(ValueError, match="no labelled utterance"):
        inverse_frequency_weights({}, 3)


def test_its_loss_averages_teacher_and_student_and_keeps_distillation() -> None:
    gen = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, generator=gen), torch.randn(2, 3, 4, generator=gen)
    target, valid = torch.randint(0, 4, (2, 3), generator=gen), torch.ones(2, 3, dtype=torch.bool)
    zero, distill = torch.zeros(()), torch.tensor(0.7)
    output = ITSOutput(zero, zero, distill, zero, zero, (), teacher, student)
    crit = Criterion(0.1)
    both = (crit(teacher, target, valid) + crit(student, target, valid)) / 2
    assert float(crit.its_loss(output, target, valid, False)) == pytest.approx(float(both) + 0.7)
    alone = output._replace(teacher_logits=None, distill_loss=zero)
    assert float(crit.its_loss(alone, target, valid, False)) == pytest.approx(
        float(crit(student, target, valid))
    )


def test_a_recipe_loss_changes_training(tmp_path: Path, make_config, tiny_data) -> None:
    plain = make_config(preset="paper", epochs=1)
    smoothed = make_config(preset="paper", epochs=1, label_smoothing=0.2, class_weights="inverse")
    a = Trainer(plain, tmp_path / "a", data=tiny_data, verbose=False).fit()
    b = Trainer(smoothed, tmp_path / "b", data=tiny_data, verbose=False).fit()
    assert a.history[0]["train_loss"] != pytest.approx(b.history[0]["train_loss"])


# ---------------------------------------------------------------- early stopping
def test_early_stopping_counts_epochs_since_the_best() -> None:
    said: list[str] = []
    stopper = EarlyStopping(2, said.append)
    stops: list[str] = []
    loop = SimpleNamespace(
        state=TrainState(epoch=3, best_epoch=2),
        dist=SimpleNamespace(is_main=True, enabled=False),
        device=torch.device("cpu"),
        stop_reason=None,
        request_stop=stops.append,
    )
    stopper.on_epoch_closed(loop)
    assert stops == []
    assert said == []
    loop.state.epoch = 4
    stopper.on_epoch_closed(loop)
    assert len(stops) == 1
    assert "best epoch 2" in said[0]
    assert stopper.exhausted(TrainState(epoch=2, best_epoch=None))
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0, said.append)


def _stopping_run(make_config, tiny_data, run_dir: Path, **kwargs):
    # lr 0 after warm-up: nothing improves after the first epoch, so patience 2 stops at 3
    config = make_config(epochs=20, patience=2, lr=1e-9, router_lr=1e-9, preset="paper")
    return Trainer(config, run_dir, data=tiny_data, verbose=False, **kwargs).fit()


def test_early_stopping_stops_and_a_resume_stops_the_same(
    tmp_path: Path, make_config, tiny_data
) -> None:
    whole = _stopping_run(make_config, tiny_data, tmp_path / "whole")
    assert whole.best_epoch == 1
    assert len(whole.history) == 3
    crashed = tmp_path / "crashed"

    crash = crash_at_step(7)  # in the third epoch, after two closed epochs

    with pytest.raises(Interrupt):
        _stopping_run(make_config, tiny_data, crashed, on_step=crash)
    resumed = _stopping_run(make_config, tiny_data, crashed, resume=True)
    assert without_timing(resumed.history) == without_timing(whole.history)
    assert resumed.ume.per_rate == whole.ume.per_rate
    # resuming a run that already stopped trains no further epoch
    again = _stopping_run(make_config, tiny_data, crashed, resume=True)
    assert len(again.history) == 3
    assert json.loads((crashed / "metrics.json").read_text())["best_epoch"] == 1


# ---------------------------------------------------------------- presets
TINY_DATA = {"synthetic": "iemocap4"}


def test_presets_fill_only_what_is_not_given(tmp_path: Path) -> None:
    default = resolve(overrides=TINY_DATA)
    assert default.preset == "default"
    assert {k: getattr(default, k) for k in PRESETS["default"]} == PRESETS["default"]
    paper = resolve(overrides={**TINY_DATA, "preset": "paper"})
    assert {k: getattr(paper, k) for k in PAPER} == PAPER
    assert (paper.lr, paper.router_lr, paper.batch_size, paper.epochs) == (5e-4, 5e-3, 32, 100)
    # default < preset < file < flag
    file_values = {**TINY_DATA, "preset": "paper", "lr": 2e-3, "epochs": 7}
    config = resolve(file_values, {"epochs": 3, "lr": None})
    assert (config.lr, config.epochs, config.batch_size) == (2e-3, 3, 32)
    flagged = resolve(file_values, {"preset": "default"})
    assert flagged.preset == "default"
    assert (flagged.lr, flagged.epochs) == (2e-3, 7)  # the file's values still beat the preset
    assert flagged.batch_size == PRESETS["default"]["batch_size"]


def test_a_resolved_config_keeps_its_values_when_read_back(tmp_path: Path) -> None:
    from iteach_app.config import load_toml, to_toml

    config = resolve(overrides={**TINY_DATA, "preset": "paper", "label_smoothing": 0.1})
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config))
    again = resolve(load_toml(path))
    assert again == config
    assert again.config_hash() == config.config_hash()


def test_an_unknown_preset_is_named() -> None:
    with pytest.raises(ConfigError, match="preset must be one of default, paper; got 'fast'"):
        resolve(overrides={**TINY_DATA, "preset": "fast"})


def test_a_run_folder_written_before_presets_keeps_its_hash(tmp_path: Path) -> None:
    """A config.toml without the recipe fields reads back as the paper's recipe, and the hash
    (sha256 of the old fields' JSON) is the one its checkpoints were written with."""
    import hashlib

    from iteach_app.config import to_toml
    from iteach_app.config.schema import NEUTRAL, UNHASHED
    from iteach_app.training.run_folder import RunFolder

    paper = resolve(overrides={**TINY_DATA, "preset": "paper"})
    new_keys = {*NEUTRAL, "preset"}
    old_text = "\n".join(
        line for line in to_toml(paper).splitlines() if line.split(" =")[0] not in new_keys
    )
    (tmp_path / "config.toml").write_text(old_text + "\n")
    again = RunFolder(tmp_path).read_config()
    assert {k: getattr(again, k) for k in PAPER} == PAPER
    values = paper.to_dict()  # as the app wrote it then: roles unresolved, the old spellings
    values.update(teacher=None, student=None, teacher_layers=None, student_layers=None)
    values["fusion_gates"] = "tanh" if values.pop("gated_fusion") else "none"
    values["input_norm"] = "layernorm" if values["input_norm"] else "none"
    old = {k: v for k, v in values.items() if k not in new_keys and k not in UNHASHED}
    text = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert again.config_hash() == hashlib.sha256(text.encode()).hexdigest()[:16]
