"""Loss values equal a hand computation (plain Python loops) on small tensors, masks included."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent

WEIGHTS = (0.5, 0.1, 0.05)


class Fixed(nn.Module):
    """A model whose logits and hidden states are parameters, passed through identity taps."""

    def __init__(self, logits: torch.Tensor, states: list[torch.Tensor], *, returns: bool) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits.clone())
        self.states = nn.ParameterList([nn.Parameter(h.clone()) for h in states])
        self.taps = nn.ModuleList([nn.Identity() for _ in states])
        self.returns = returns

    def forward(self, scale: torch.Tensor) -> object:
        states = [tap(h * scale) for tap, h in zip(self.taps, self.states, strict=True)]
        logits = self.logits * scale
        return (logits, states) if self.returns else logits


def ref_cross_entropy(logits: list, target: list, valid: list) -> float:
    total, count = 0.0, 0
    for row, label, ok in zip(logits, target, valid, strict=True):
        if ok:
            log_norm = math.log(sum(math.exp(v) for v in row))
            total += log_norm - row[label]
            count += 1
    return total / count if count else 0.0


def ref_regression(values: list, target: list, valid: list, kind: str) -> float:
    diffs = [v - t for v, t, ok in zip(values, target, valid, strict=True) if ok]
    if not diffs:
        return 0.0
    return sum(d * d if kind == "mse" else abs(d) for d in diffs) / len(diffs)


def ref_distance(student: list, teacher: list, select: list, proj: tuple | None) -> float:
    total, count = 0.0, 0
    for hs, ht, ok in zip(student, teacher, select, strict=True):
        if not ok:
            continue
        if proj is not None:
            weight, bias = proj
            hs = [
                sum(w * x for w, x in zip(row, hs, strict=True)) + b
                for row, b in zip(weight, bias, strict=True)
            ]
        total += sum((a - b) ** 2 for a, b in zip(hs, ht, strict=True)) / len(ht)
        count += 1
    return total / count if count else 0.0


def flat(t: torch.Tensor, keep_last: bool) -> list:
    """(*P, D) -> list of rows of D values, or (*P,) -> list of values, over all positions."""
    t = t.detach().double()
    return t.reshape(-1, t.shape[-1]).tolist() if keep_last else t.reshape(-1).tolist()


def random_case(seed: int, dtype: torch.dtype, task: str, plain: bool) -> dict:
    g = torch.Generator().manual_seed(seed)
    batch = int(torch.randint(1, 4, (1,), generator=g))
    length = int(torch.randint(1, 6, (1,), generator=g))
    positions = (batch,) if plain else (batch, length)
    classes = 3
    widths_t = [4, 4, 3]
    widths_s = [6, 4, 5]
    out_dim = classes if task == "classification" else 1

    def states(widths: list[int]) -> list[torch.Tensor]:
        return [torch.randn(*positions, w, generator=g, dtype=dtype) for w in widths]

    valid = torch.rand(positions, generator=g) < 0.7
    if task == "classification":
        target = torch.randint(0, classes, positions, generator=g)
        target[~valid] = -100
    else:
        target = torch.randn(positions, generator=g, dtype=dtype)
    return {
        "t_logits": torch.randn(*positions, out_dim, generator=g, dtype=dtype),
        "s_logits": torch.randn(*positions, out_dim, generator=g, dtype=dtype),
        "t_states": states(widths_t),
        "s_states": states(widths_s),
        "widths_t": widths_t,
        "widths_s": widths_s,
        "valid": valid,
        "distill_where": torch.rand(positions, generator=g) < 0.5,
        "target": target,
    }


def expected_losses(case: dict, its: InvertedTeacherStudent, task: str, kind: str) -> dict:
    valid = flat(case["valid"], keep_last=False)
    select = [v and d for v, d in zip(valid, flat(case["distill_where"], False), strict=True)]
    if task == "classification":
        target = [int(v) for v in flat(case["target"], False)]
        t_loss = ref_cross_entropy(flat(case["t_logits"], True), target, valid)
        s_loss = ref_cross_entropy(flat(case["s_logits"], True), target, valid)
    else:
        target = flat(case["target"], False)
        t_loss = ref_regression(flat(case["t_logits"][..., 0], False), target, valid, kind)
        s_loss = ref_regression(flat(case["s_logits"][..., 0], False), target, valid, kind)
    distances = []
    for k in range(3):
        proj = None
        if str(k) in its.projections:
            layer = its.projections[str(k)]
            proj = (layer.weight.detach().double().tolist(), layer.bias.detach().double().tolist())
        s_rows, t_rows = flat(case["s_states"][k], True), flat(case["t_states"][k], True)
        distances.append(ref_distance(s_rows, t_rows, select, proj))
    distill = sum(w * d for w, d in zip(WEIGHTS, distances, strict=True))
    task_loss = (t_loss + s_loss) / 2
    return {
        "teacher_loss": t_loss,
        "student_loss": s_loss,
        "task_loss": task_loss,
        "distances": distances,
        "distill_loss": distill,
        "loss": task_loss + distill,
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("task", "kind"), [("classification", "mse"), ("regression", "mse"), ("regression", "mae")]
)
@pytest.mark.parametrize("plain", [False, True], ids=["sequence", "plain"])
@pytest.mark.parametrize("hooks", [True, False], ids=["hooks", "returned"])
def test_losses_match_hand_computation(
    dtype: torch.dtype, task: str, kind: str, plain: bool, hooks: bool
) -> None:
    for seed in range(4):
        case = random_case(seed, dtype, task, plain)
        teacher = Fixed(case["t_logits"], case["t_states"], returns=not hooks)
        student = Fixed(case["s_logits"], case["s_states"], returns=not hooks)
        its = InvertedTeacherStudent(
            teacher,
            student,
            teacher_layers=[f"taps.{k}" for k in range(3)] if hooks else None,
            student_layers=[f"taps.{k}" for k in range(3)] if hooks else None,
            task=task,
            regression_loss=kind,
            teacher_dims=case["widths_t"],
            student_dims=case["widths_s"],
        ).to(dtype)
        one = torch.ones((), dtype=dtype)
        out = its(
            one,
            one,
            case["target"],
            valid=case["valid"],
            distill_where=case["distill_where"],
        )
        want = expected_losses(case, its, task, kind)
        tol = {"rel_tol": 1e-5, "abs_tol": 1e-5} if dtype == torch.float32 else {"rel_tol": 1e-12}
        for key in ("teacher_loss", "student_loss", "task_loss", "distill_loss", "loss"):
            assert math.isclose(float(getattr(out, key).detach()), want[key], **tol), (seed, key)
        for got, ref in zip(out.layer_distances, want["distances"], strict=True):
            assert math.isclose(float(got.detach()), ref, **tol), seed
        assert out.loss.dtype == dtype


def test_padding_and_unselected_positions_contribute_nothing() -> None:
    torch.manual_seed(0)
    states = [torch.randn(2, 4, 3) for _ in range(3)]
    teacher = Fixed(torch.randn(2, 4, 5), states, returns=True)
    student = Fixed(torch.randn(2, 4, 5), [h.clone() for h in states], returns=True)
    its = InvertedTeacherStudent(teacher, student)
    target = torch.randint(0, 5, (2, 4))
    valid = torch.tensor([[True, True, True, False], [True, False, False, False]])
    where = torch.tensor([[True, False, True, True], [False, True, True, True]])
    one = torch.ones(())
    before = its(one, one, target, valid=valid, distill_where=where)
    with torch.no_grad():
        for k in range(3):
            # Padding (valid False) and unmasked (where False) rows of the student change wildly.
            student.states[k][~(valid & where)] += 100.0
        student.logits[~valid] += 100.0
    after = its(one, one, target, valid=valid, distill_where=where)
    assert torch.equal(before.loss, after.loss)
    assert all(float(d.detach()) == 0.0 for d in after.layer_distances)
    with torch.no_grad():
        student.states[0][0, 0] += 1.0
    moved = its(one, one, target, valid=valid, distill_where=where)
    assert float(moved.layer_distances[0].detach()) > 0.0


def test_no_selected_position_gives_zero_distance_and_finite_grads() -> None:
    torch.manual_seed(1)
    teacher = Fixed(torch.randn(2, 3, 4), [torch.randn(2, 3, 8) for _ in range(3)], returns=True)
    student = Fixed(torch.randn(2, 3, 4), [torch.randn(2, 3, 6) for _ in range(3)], returns=True)
    its = InvertedTeacherStudent(teacher, student, teacher_dims=[8] * 3, student_dims=[6] * 3)
    one = torch.ones(())
    where = torch.zeros(2, 3, dtype=torch.bool)
    out = its(one, one, torch.randint(0, 4, (2, 3)), distill_where=where)
    assert float(out.distill_loss.detach()) == 0.0
    out.loss.backward()
    for p in [*student.parameters(), *its.projections.parameters(), teacher.logits]:
        assert p.grad is not None
        assert torch.isfinite(p.grad).all()
    assert all(h.grad is None for h in teacher.states)
    assert all(float(p.grad.abs().sum()) == 0.0 for p in its.projections.parameters())
