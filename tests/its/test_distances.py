"""Scale-free distillation distances equal plain-Python loops, through the wrapper, with masks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from its_distill import DISTANCES, InvertedTeacherStudent, masked_distance


def ref_row_distance(student: list[float], teacher: list[float], kind: str) -> float:
    """One pair of rows, the way the docstring defines it."""
    if kind == "normalized_mse":
        student, teacher = standardised(student), standardised(teacher)
    if kind == "cosine":
        dot = sum(a * b for a, b in zip(student, teacher, strict=True))
        norms = math.sqrt(sum(a * a for a in student)) * math.sqrt(sum(b * b for b in teacher))
        return 1.0 - dot / max(norms, 1e-5)
    return sum((a - b) ** 2 for a, b in zip(student, teacher, strict=True)) / len(teacher)


def standardised(row: list[float]) -> list[float]:
    mean = sum(row) / len(row)
    var = sum((v - mean) ** 2 for v in row) / len(row)
    return [(v - mean) / math.sqrt(var + 1e-5) for v in row]


class Taps(nn.Module):
    """Hidden states and logits given as parameters, each behind an identity tap."""

    def __init__(self, states: list[torch.Tensor], logits: torch.Tensor) -> None:
        super().__init__()
        self.states = nn.ParameterList([nn.Parameter(h.clone()) for h in states])
        self.logits = nn.Parameter(logits.clone())
        self.taps = nn.ModuleList([nn.Identity() for _ in states])

    def forward(self, scale: torch.Tensor) -> torch.Tensor:
        for tap, h in zip(self.taps, self.states, strict=True):
            tap(h * scale)
        return self.logits * scale


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", DISTANCES)
def test_wrapper_distances_match_loops(dtype: torch.dtype, kind: str) -> None:
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        batch, length = (
            int(torch.randint(1, 4, (1,), generator=g)),
            int(torch.randint(1, 7, (1,), generator=g)),
        )
        width = int(torch.randint(2, 9, (1,), generator=g))
        # Teacher states at a large, growing scale: the normalised distances must not care.
        t_states = [
            torch.randn(batch, length, width, generator=g, dtype=dtype) * 10**k for k in range(3)
        ]
        s_states = [torch.randn(batch, length, width, generator=g, dtype=dtype) for _ in range(3)]
        valid = torch.rand(batch, length, generator=g) < 0.8
        where = torch.rand(batch, length, generator=g) < 0.6
        target = torch.randint(0, 3, (batch, length), generator=g)
        teacher = Taps(t_states, torch.randn(batch, length, 3, generator=g, dtype=dtype))
        student = Taps(s_states, torch.randn(batch, length, 3, generator=g, dtype=dtype))
        paths = [f"taps.{k}" for k in range(3)]
        its = InvertedTeacherStudent(
            teacher, student, teacher_layers=paths, student_layers=paths, distance=kind
        ).to(dtype)
        one = torch.ones((), dtype=dtype)
        out = its(one, one, target, valid=valid, distill_where=where)
        select = (valid & where).reshape(-1).tolist()
        tol = {"rel_tol": 1e-5, "abs_tol": 1e-5} if dtype == torch.float32 else {"rel_tol": 1e-9}
        for k in range(3):
            rows_s = s_states[k].reshape(-1, width).double().tolist()
            rows_t = t_states[k].reshape(-1, width).double().tolist()
            values = [
                ref_row_distance(s, t, kind)
                for s, t, ok in zip(rows_s, rows_t, select, strict=True)
                if ok
            ]
            want = sum(values) / len(values) if values else 0.0
            got = float(out.layer_distances[k].detach())
            assert math.isclose(got, want, **tol), (seed, k, got, want)


@pytest.mark.parametrize("kind", ["normalized_mse", "cosine"])
def test_scale_free_distances_ignore_the_teachers_scale(kind: str) -> None:
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(20, 16, generator=g), torch.randn(20, 16, generator=g)
    base = masked_distance(student, teacher, kind)
    assert torch.allclose(masked_distance(student, teacher * 1000.0, kind), base, atol=1e-5)
    raw = masked_distance(student, teacher, "mse")
    assert masked_distance(student, teacher * 1000.0, "mse") > 1000 * raw
    bound = 4.0 if kind == "normalized_mse" else 2.0
    assert 0.0 <= float(base) <= bound


def test_unknown_distance_names_the_choices() -> None:
    with pytest.raises(ValueError, match="normalized_mse"):
        InvertedTeacherStudent(nn.Linear(2, 2), nn.Linear(2, 2), distance="l1")
    with pytest.raises(ValueError, match="cosine"):
        masked_distance(torch.zeros(1, 2), torch.zeros(1, 2), "l1")


def test_projector_always_builds_a_map_at_equal_widths() -> None:
    teacher = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 3))
    student = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 3))
    layers = {"teacher_layers": ["0"], "student_layers": ["0"], "layer_weights": (1.0,)}
    auto = InvertedTeacherStudent(teacher, student, **layers)
    always = InvertedTeacherStudent(teacher, student, **layers, projector="always")
    assert len(auto.projections) == 0
    assert isinstance(always.projections["0"], nn.Linear)
    x, target = torch.randn(5, 4), torch.randint(0, 3, (5,))
    out = always(x, x, target)
    out.loss.backward()
    assert always.projections["0"].weight.grad is not None
    # The distance is measured after the map: an identity map gives the plain distance.
    with torch.no_grad():
        always.projections["0"].weight.copy_(torch.eye(6))
        always.projections["0"].bias.zero_()
    torch.testing.assert_close(always(x, x, target).distill_loss, auto(x, x, target).distill_loss)
    with pytest.raises(ValueError, match="projector must be one of"):
        InvertedTeacherStudent(teacher, student, **layers, projector="mlp")
    with pytest.raises(ValueError, match="teacher_dims"):
        InvertedTeacherStudent(
            nn.Sequential(nn.ReLU()), nn.Sequential(nn.ReLU()), teacher_layers=["0"],
            student_layers=["0"], layer_weights=(1.0,), projector="always",
        )  # fmt: skip
