"""The distance loss sends no gradient to the teacher, which still learns from its own loss."""

from __future__ import annotations

from collections.abc import Callable

import torch

from its_distill import InvertedTeacherStudent


def _grads(module: torch.nn.Module) -> dict[str, torch.Tensor | None]:
    return {n: None if p.grad is None else p.grad.clone() for n, p in module.named_parameters()}


def _step(its: InvertedTeacherStudent, batch: dict, which: str) -> None:
    its.zero_grad(set_to_none=True)
    pad = ~batch["valid"]
    out = its(
        {"x": batch["x"], "padding_mask": pad},
        {"x": batch["masked"], "padding_mask": pad},
        batch["labels"],
        valid=batch["valid"],
        distill_where=batch["missing"],
    )
    loss = {"loss": out.loss, "task": out.task_loss, "teacher": out.teacher_loss / 2}[which]
    loss.backward()


def _its(make_tagger: Callable, **kwargs: object) -> InvertedTeacherStudent:
    teacher, student = make_tagger(8, 3, seed=0), make_tagger(16, 4, seed=1)
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.last_layers(),
        student_layers=student.last_layers(),
        **kwargs,
    )


def test_teacher_grads_with_full_loss_equal_task_loss_alone_exactly(
    make_tagger: Callable, tagger_batch: dict
) -> None:
    its = _its(make_tagger)
    _step(its, tagger_batch, "loss")
    full_teacher, full_student = _grads(its.teacher), _grads(its.student)
    full_projection = _grads(its.projections)
    for which in ("task", "teacher"):
        _step(its, tagger_batch, which)
        alone = _grads(its.teacher)
        for name, grad in full_teacher.items():
            assert grad is not None, name
            assert torch.equal(grad, alone[name]), (which, name)
    _step(its, tagger_batch, "task")
    task_student = _grads(its.student)
    assert any(not torch.equal(full_student[n], task_student[n]) for n in full_student)
    assert all(float(g.abs().sum()) > 0 for g in full_projection.values())
    assert all(g is None for g in _grads(its.projections).values())


def test_distance_gradient_reaches_student_only_at_selected_positions(
    make_tagger: Callable, tagger_batch: dict
) -> None:
    its = _its(make_tagger, layer_weights=(1.0, 0.0, 0.0))
    captured = {}
    layer = its.student.get_submodule("encoder.layers.3")
    handle = layer.register_forward_hook(lambda m, a, out: captured.setdefault("h", out))
    pad = ~tagger_batch["valid"]
    out = its(
        {"x": tagger_batch["x"], "padding_mask": pad},
        {"x": tagger_batch["masked"], "padding_mask": pad},
        tagger_batch["labels"],
        valid=tagger_batch["valid"],
        distill_where=tagger_batch["missing"],
    )
    handle.remove()
    (grad,) = torch.autograd.grad(out.distill_loss, captured["h"])
    selected = tagger_batch["valid"] & tagger_batch["missing"]
    assert float(grad[~selected].abs().sum()) == 0.0
    assert bool((grad[selected].abs().sum(-1) > 0).all())


def test_freeze_teacher_keeps_it_fixed_and_in_eval(
    make_tagger: Callable, tagger_batch: dict
) -> None:
    its = _its(make_tagger, freeze_teacher=True)
    its.train()
    assert not its.teacher.training
    assert its.student.training
    before = {n: p.clone() for n, p in its.teacher.named_parameters()}
    optimizer = torch.optim.SGD([p for p in its.parameters() if p.requires_grad], lr=0.1)
    _step(its, tagger_batch, "loss")
    optimizer.step()
    assert all(p.grad is None for p in its.teacher.parameters())
    assert all(torch.equal(before[n], p) for n, p in its.teacher.named_parameters())
    assert all(p.grad is not None for p in its.student.parameters())
    pad = ~tagger_batch["valid"]
    out = its(
        {"x": tagger_batch["x"], "padding_mask": pad},
        {"x": tagger_batch["masked"], "padding_mask": pad},
        tagger_batch["labels"],
        valid=tagger_batch["valid"],
    )
    assert torch.equal(out.task_loss, out.student_loss)
    assert not out.teacher_loss.requires_grad
