"""Per-epoch distillation diagnostics: right values, no side effects, in metrics files."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from iteach_app.data import collate
from iteach_app.training.diagnostics import distillation_diagnostics
from iteach_app.training.framework import build_framework
from iteach_app.training.trainer import Trainer
from missing_modality import ModalityMasker


def _framework(make_config, tiny_data, **overrides):
    config = make_config(**overrides)
    its = build_framework(config, tiny_data.modality_dims, tiny_data.out_dim, tiny_data.task)
    masker = ModalityMasker(its.student.modalities, keep_at_least=1)
    batch = collate(tiny_data.train, [0, 1, 2])
    return config, its, masker, batch


def test_diagnostics_match_a_direct_computation(make_config, tiny_data) -> None:
    _config, its, masker, batch = _framework(make_config, tiny_data)
    its.train()
    rng_before = torch.get_rng_state()
    record = distillation_diagnostics(its, batch, seed=3, masker=masker)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert its.training
    assert all(p.grad is None for p in its.parameters())
    for key in ("diag_task_grad_norm", "diag_distill_grad_norm"):
        assert record[key] > 0
    assert {f"diag_teacher_norm_{k}" for k in range(3)} <= record.keys()

    # The same quantities by hand: a second forward in eval mode, .backward per loss.
    from iteach_app.training.step import generator, model_inputs

    its.eval()
    mask = batch.utterance_mask
    masked = masker(batch.features, mask, 0.5, generator=generator(3, "diagnostics"))
    where = mask & ~masked.present.all(dim=-1)
    complete = mask.unsqueeze(-1).expand_as(masked.present).clone()
    inputs_t = model_inputs(its.teacher, batch, batch.features, complete)
    inputs_s = model_inputs(its.student, batch, masked.features, masked.present)
    for loss_name, key in (("task_loss", "diag_task_grad_norm"),
                           ("distill_loss", "diag_distill_grad_norm")):  # fmt: skip
        its.zero_grad(set_to_none=True)
        out = its(inputs_t, inputs_s, batch.labels, valid=mask, distill_where=where)
        getattr(out, loss_name).backward()
        norm = torch.sqrt(
            sum(p.grad.square().sum() for p in its.student.parameters() if p.grad is not None)
        )
        assert torch.isclose(norm, torch.tensor(record[key]), rtol=1e-4), key
    with torch.no_grad():
        from its_distill import capture_hidden_states

        with capture_hidden_states(its.teacher, its.teacher_layers) as capture:
            its.teacher(**inputs_t)
            last = capture.states()[0]
        with capture_hidden_states(its.student, its.student_layers) as capture:
            its.student(**inputs_s)
            student_last = capture.states()[0]
    want = last[where].norm(dim=-1).mean()
    assert torch.isclose(want, torch.tensor(record["diag_teacher_norm_0"]), rtol=1e-5)
    want = student_last[where].norm(dim=-1).mean()
    assert torch.isclose(want, torch.tensor(record["diag_student_norm_0"]), rtol=1e-5)


def test_each_model_runs_one_forward(make_config, tiny_data) -> None:
    """The hidden states come from the forward the gradients are taken through."""
    _, its, masker, batch = _framework(make_config, tiny_data)
    calls = {"teacher": 0, "student": 0}
    for name in calls:
        getattr(its, name).register_forward_hook(
            lambda *_, name=name: calls.__setitem__(name, calls[name] + 1)
        )
    record = distillation_diagnostics(its, batch, seed=0, masker=masker)
    assert calls == {"teacher": 1, "student": 1}
    assert record["diag_student_norm_2"] > 0


def test_the_diagnostic_batch_is_capped(tmp_path: Path, make_config, tiny_data) -> None:
    from iteach_app.training.diagnostics import DIAGNOSTIC_CONVERSATIONS, DistillDiagnostics

    seen: list[int] = []
    original = DistillDiagnostics.on_evaluate

    def spy(self, loop, record):
        seen.append(self.batch.utterance_mask.shape[0])
        original(self, loop, record)

    DistillDiagnostics.on_evaluate = spy
    try:
        Trainer(make_config(batch_size=32, epochs=1), tmp_path / "run", data=tiny_data,
                verbose=False).fit()  # fmt: skip
    finally:
        DistillDiagnostics.on_evaluate = original
    assert len(tiny_data.train) > DIAGNOSTIC_CONVERSATIONS
    assert seen == [DIAGNOSTIC_CONVERSATIONS]


def test_pre_gets_the_task_gradient_alone(make_config, tiny_data) -> None:
    _, its, masker, batch = _framework(make_config, tiny_data, framework="pre")
    record = distillation_diagnostics(its, batch, seed=0, masker=masker)
    assert set(record) == {"diag_task_grad_norm"}
    assert record["diag_task_grad_norm"] > 0


def test_every_epoch_records_them(tmp_path: Path, make_config, tiny_data) -> None:
    run_dir = tmp_path / "run"
    Trainer(make_config(), run_dir, data=tiny_data, verbose=False).fit()
    epochs = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert all(e["diag_distill_grad_norm"] > 0 for e in epochs)
    header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"diag_teacher_norm_0", "diag_student_norm_2", "diag_task_grad_norm"} <= set(header)
