"""InvertedTeacherStudent under a NaN regression target and a student whose first output is its
hidden state: a clear ValueError, not a NaN loss or hidden states scored as logits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent, task_loss


class HiddenFirst(nn.Module):
    """Returns ``(hidden (B, 16), logits (B, 4))``: the order the wrapper must not guess."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.head = nn.Linear(3, 16), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(x)
        return hidden, self.head(hidden)


def test_nan_regression_target_is_named() -> None:
    torch.manual_seed(0)
    its = InvertedTeacherStudent(
        nn.Linear(3, 1), nn.Linear(3, 1), teacher_layers=[""], student_layers=[""],
        layer_weights=(1.0,), task="regression",
    )  # fmt: skip
    x = torch.randn(3, 3)
    with pytest.raises(ValueError, match=r"regression target nan at position \(1,\)"):
        its(x, x, torch.tensor([0.5, float("nan"), 1.0]))
    masked = its(x, x, torch.tensor([0.5, float("nan"), 1.0]), valid=torch.tensor([1, 0, 1]).bool())
    assert torch.isfinite(masked.loss)


def test_nan_target_in_task_loss_is_named() -> None:
    with pytest.raises(ValueError, match="not finite"):
        task_loss(torch.zeros(2, 3), torch.tensor([[0.0, 1, 2], [0, float("inf"), 1]]), None,
                  task="regression")  # fmt: skip


def test_student_returning_hidden_then_logits_is_refused() -> None:
    torch.manual_seed(0)
    its = InvertedTeacherStudent(
        nn.Linear(3, 4), HiddenFirst(), teacher_layers=[""], student_layers=["body"],
        layer_weights=(1.0,),
    )  # fmt: skip
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match=r"last dims \(the classes\) differ"):
        its(x, x, torch.tensor([0, 1, 2, 3, 0]))


def test_num_classes_catches_hidden_first_on_both_sides_and_in_pre() -> None:
    torch.manual_seed(0)
    its = InvertedTeacherStudent(
        HiddenFirst(), HiddenFirst(), teacher_layers=["body"], student_layers=["body"],
        layer_weights=(1.0,), num_classes=4,
    )  # fmt: skip
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match=r"shape \(5, 16\), but num_classes is 4"):
        its(x, x, torch.tensor([0, 1, 2, 3, 0]))
    pre = InvertedTeacherStudent(None, HiddenFirst(), num_classes=4)
    with pytest.raises(ValueError, match="output_key=1"):
        pre(None, x, torch.tensor([0, 1, 2, 3, 0]))
    fixed = InvertedTeacherStudent(
        HiddenFirst(), HiddenFirst(), teacher_layers=["body"], student_layers=["body"],
        layer_weights=(1.0,), num_classes=4, output_key=1,
    )  # fmt: skip
    assert torch.isfinite(fixed(x, x, torch.tensor([0, 1, 2, 3, 0])).loss)


def test_num_classes_must_be_a_positive_int_for_classification() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        InvertedTeacherStudent(None, nn.Linear(3, 4), num_classes=0)
    with pytest.raises(ValueError, match="classification"):
        InvertedTeacherStudent(None, nn.Linear(3, 1), task="regression", num_classes=1)
