"""InvertedTeacherStudent under labels that do not fit the logits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent, task_loss


def _wrapper() -> InvertedTeacherStudent:
    torch.manual_seed(0)
    return InvertedTeacherStudent(
        nn.Linear(3, 4),
        nn.Linear(3, 4),
        teacher_layers=[""],
        student_layers=[""],
        layer_weights=(1.0,),
    )


@pytest.mark.parametrize(("labels", "bad", "where"), [([0, 7, 1], 7, 1), ([0, 1, -2], -2, 2)])
def test_label_outside_the_classes_is_named(labels: list[int], bad: int, where: int) -> None:
    x = torch.randn(3, 3)
    message = rf"label {bad} at target position \({where},\) .*4 logits"
    with pytest.raises(ValueError, match=message):
        _wrapper()(x, x, torch.tensor(labels))


def test_sequence_labels_name_the_position() -> None:
    logits, target = torch.randn(2, 5, 4), torch.zeros(2, 5, dtype=torch.long)
    target[1, 3] = 4
    with pytest.raises(ValueError, match=r"label 4 at target position \(1, 3\)"):
        task_loss(logits, target, None, task="classification")


def test_out_of_range_label_on_an_invalid_or_ignored_position_is_fine() -> None:
    x = torch.randn(3, 3)
    its = _wrapper()
    out = its(x, x, torch.tensor([0, 7, -100]), valid=torch.tensor([True, False, True]))
    assert torch.isfinite(out.loss)
    reference = its(x[:1], x[:1], torch.tensor([0]))
    torch.testing.assert_close(out.student_loss, reference.student_loss)
