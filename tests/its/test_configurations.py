"""PRE / vanilla TS / ITS as configurations of one wrapper; sequence and plain (B, D) models."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent, capture_hidden_states


def _inputs(batch: dict) -> tuple[dict, dict]:
    pad = ~batch["valid"]
    return {"x": batch["x"], "padding_mask": pad}, {"x": batch["masked"], "padding_mask": pad}


@pytest.mark.parametrize(
    ("teacher_width", "student_width", "projected"),
    [(16, 8, True), (8, 16, True), (8, 8, False)],
    ids=["vanilla-TS", "ITS", "same-width"],
)
def test_projection_maps_student_width_to_teacher_width(
    make_tagger: Callable,
    tagger_batch: dict,
    teacher_width: int,
    student_width: int,
    projected: bool,
) -> None:
    teacher, student = make_tagger(teacher_width, 3), make_tagger(student_width, 4, seed=1)
    its = InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.last_layers(),
        student_layers=student.last_layers(),
    )
    assert (len(its.projections) == 3) is projected
    for projection in its.projections.values():
        assert (projection.in_features, projection.out_features) == (student_width, teacher_width)
    own = {id(p) for p in its.parameters()}
    assert all(id(p) in own for p in its.projections.parameters())
    teacher_inputs, student_inputs = _inputs(tagger_batch)
    out = its(teacher_inputs, student_inputs, tagger_batch["labels"], valid=tagger_batch["valid"])
    assert len(out.layer_distances) == 3
    assert out.teacher_logits.shape == out.student_logits.shape == (2, 5, 4)
    assert torch.equal(out.student_logits, its.predict(student_inputs))
    logged = out.log_dict()
    assert set(logged) == {
        "loss",
        "task_loss",
        "distill_loss",
        "teacher_loss",
        "student_loss",
        "distance_0",
        "distance_1",
        "distance_2",
    }
    assert all(isinstance(v, float) for v in logged.values())
    assert out.log_dict("train/")["train/loss"] == logged["loss"]


def test_pre_is_the_student_alone(make_tagger: Callable, tagger_batch: dict) -> None:
    student = make_tagger(8, 4)
    its = InvertedTeacherStudent(None, student, student_layers=student.last_layers())
    _, student_inputs = _inputs(tagger_batch)
    out = its(None, student_inputs, tagger_batch["labels"], valid=tagger_batch["valid"])
    assert torch.equal(out.loss, out.student_loss)
    assert float(out.distill_loss) == 0.0
    assert out.teacher_loss is None
    assert out.teacher_logits is None
    assert out.layer_distances == ()
    assert "teacher_loss" not in out.log_dict()
    assert len(its.projections) == 0
    logits = out.student_logits.reshape(-1, 4)[tagger_batch["valid"].reshape(-1)]
    labels = tagger_batch["labels"].reshape(-1)[tagger_batch["valid"].reshape(-1)]
    assert torch.allclose(out.loss, nn.functional.cross_entropy(logits, labels))


def test_hooks_capture_the_current_call_only(make_tagger: Callable, tagger_batch: dict) -> None:
    teacher, student = make_tagger(8, 3), make_tagger(16, 4, seed=1)
    its = InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.last_layers(),
        student_layers=student.last_layers(),
    )
    teacher_inputs, student_inputs = _inputs(tagger_batch)
    other = {"x": torch.randn(2, 5, 6), "padding_mask": student_inputs["padding_mask"]}
    args = {"valid": tagger_batch["valid"], "distill_where": tagger_batch["missing"]}
    first = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    its(teacher_inputs, other, tagger_batch["labels"], **args)
    student(**other)  # a call outside the wrapper is not recorded
    its.predict(other)
    again = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    assert torch.equal(first.loss, again.loss)
    assert its._student_capture.outputs == {}
    with capture_hidden_states(student, ["encoder.layers.3", "embed"]) as capture:
        student(**student_inputs)
        deepest, embedded = capture.states()
    assert deepest.shape == (2, 5, 16)
    assert embedded.shape == (2, 5, 16)
    student(**other)
    assert torch.equal(capture.states()[0], deepest)  # hooks removed at the end of the block


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_nested_tensor_fast_path_in_eval(make_tagger: Callable, tagger_batch: dict) -> None:
    teacher, student = make_tagger(8, 3, nested=True), make_tagger(16, 4, nested=True, seed=1)
    its = InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=teacher.last_layers(),
        student_layers=student.last_layers(),
    ).eval()
    teacher_inputs, student_inputs = _inputs(tagger_batch)
    args = {"valid": tagger_batch["valid"], "distill_where": tagger_batch["missing"]}
    slow = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    seen = []
    teacher.encoder.layers[2].register_forward_hook(lambda m, a, out: seen.append(out.is_nested))
    with torch.no_grad():
        fast = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    assert seen == [True]
    assert torch.allclose(slow.loss, fast.loss, atol=1e-5)


class MLP(nn.Module):
    """A plain (B, D_in) -> (B, out) model: Linear, ReLU, Linear, ReLU, Linear."""

    def __init__(self, d_in: int, width: int, out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_plain_mlp_learns_with_its(task: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 10, generator=g)
    score = x[:, 0] + x[:, 1]
    target = (score > 0).long() if task == "classification" else score
    missing = torch.rand(64, 10, generator=g) < 0.3
    masked = x.masked_fill(missing, 0.0)
    torch.manual_seed(0)
    out_dim = 2 if task == "classification" else 1
    teacher, student = MLP(10, 16, out_dim), MLP(10, 32, out_dim)
    its = InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=["net.2", "net.0"],
        student_layers=["net.2", "net.0"],
        layer_weights=(0.5, 0.1),
        task=task,
        regression_loss="mae",
    )
    assert [p.in_features for p in its.projections.values()] == [32, 32]
    assert [p.out_features for p in its.projections.values()] == [16, 16]
    optimizer = torch.optim.AdamW(its.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        out = its(x, masked, target, distill_where=missing.any(dim=1))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(float(out.loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    assert its.predict(masked).shape == (64, out_dim)


def test_models_that_return_their_hidden_states() -> None:
    class Returns(nn.Module):
        def __init__(self, width: int, depth: int) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(width if i else 3, width) for i in range(depth)])
            self.head = nn.Linear(width, 2)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
            states = []
            for block in self.blocks:
                x = torch.tanh(block(x))
                states.append(x)
            return self.head(x), states[::-1]

    torch.manual_seed(0)
    teacher, student = Returns(4, 3), Returns(6, 4)
    its = InvertedTeacherStudent(teacher, student, teacher_dims=[4] * 3, student_dims=[6] * 3)
    x = torch.randn(5, 3)
    out = its(x, x, torch.randint(0, 2, (5,)))
    assert len(out.layer_distances) == 3
    assert its.predict(x).shape == (5, 2)
    mixed = InvertedTeacherStudent(
        teacher, student, teacher_layers=["blocks.2", "blocks.1", "blocks.0"], student_dims=[6] * 3
    )
    assert [p.out_features for p in mixed.projections.values()] == [4, 4, 4]
    assert bool(mixed(x, x, torch.zeros(5, dtype=torch.long)).distill_loss.isfinite())


def test_wrapped_models_resolve_paths_on_the_inner_module(
    make_tagger: Callable, tagger_batch: dict
) -> None:
    teacher, student = make_tagger(8, 3), make_tagger(16, 4, seed=1)
    plain = InvertedTeacherStudent(
        teacher, student, teacher_layers=teacher.last_layers(), student_layers=student.last_layers()
    )
    torch.manual_seed(5)
    plain.projections.load_state_dict(plain.projections.state_dict())
    wrapped = InvertedTeacherStudent(
        nn.DataParallel(teacher),
        nn.DataParallel(student),
        teacher_layers=teacher.last_layers(),
        student_layers=student.last_layers(),
    )
    wrapped.projections.load_state_dict(plain.projections.state_dict())
    teacher_inputs, student_inputs = _inputs(tagger_batch)
    args = {"valid": tagger_batch["valid"], "distill_where": tagger_batch["missing"]}
    want = plain(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    got = wrapped(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    assert torch.equal(want.loss, got.loss)


def test_deepcopy_gets_its_own_hooks_and_remove_hooks(
    make_tagger: Callable, tagger_batch: dict
) -> None:
    teacher, student = make_tagger(8, 3), make_tagger(16, 4, seed=1)
    its = InvertedTeacherStudent(
        teacher, student, teacher_layers=teacher.last_layers(), student_layers=student.last_layers()
    )
    teacher_inputs, student_inputs = _inputs(tagger_batch)
    args = {"valid": tagger_batch["valid"], "distill_where": tagger_batch["missing"]}
    original = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    twin = copy.deepcopy(its)
    with torch.no_grad():
        for p in twin.student.parameters():
            p.add_(0.5)
    moved = twin(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    again = its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
    assert torch.equal(original.loss, again.loss)
    assert not torch.equal(original.distill_loss, moved.distill_loss)
    its.remove_hooks()
    assert all(not m._forward_hooks for m in its.student.modules())
    with pytest.raises(RuntimeError, match="were removed"):
        its(teacher_inputs, student_inputs, tagger_batch["labels"], **args)
