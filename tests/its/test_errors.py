"""Bad input gets a clear error naming the layer, shape or value at fault."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent


class Taps(nn.Module):
    """Logits (B, L, 3) and hidden states of given shapes, each through an identity tap `taps.k`."""

    def __init__(self, *shapes: tuple[int, ...], logits: tuple[int, ...] = (2, 4, 3)) -> None:
        super().__init__()
        self.states = nn.ParameterList([nn.Parameter(torch.randn(s)) for s in shapes])
        self.taps = nn.ModuleList([nn.Identity() for _ in shapes])
        self.logits = nn.Parameter(torch.randn(logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for tap, h in zip(self.taps, self.states, strict=True):
            tap(h * x)
        return self.logits * x


def _one_layer(teacher: nn.Module, student: nn.Module, **kwargs: object) -> InvertedTeacherStudent:
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=["taps.0"],
        student_layers=["taps.0"],
        layer_weights=(1.0,),
        **kwargs,
    )


TARGET = torch.zeros(2, 4, dtype=torch.long)
ONE = torch.ones(())


def test_unknown_layer_path_is_named_with_suggestions(make_tagger: Callable) -> None:
    teacher, student = make_tagger(8, 3), make_tagger(16, 4)
    with pytest.raises(
        ValueError, match=r"'encoder\.layer\.2' does not exist.*'encoder\.layers\.2'"
    ):
        InvertedTeacherStudent(
            teacher,
            student,
            teacher_layers=["encoder.layer.2", "encoder.layers.1", "encoder.layers.0"],
            student_layers=student.last_layers(),
        )
    with pytest.raises(ValueError, match="'nope' does not exist in Tagger"):
        InvertedTeacherStudent(None, student, student_layers=["nope", "embed", "head"])


def test_layer_count_must_match_weights(make_tagger: Callable) -> None:
    teacher, student = make_tagger(8, 3), make_tagger(16, 4)
    with pytest.raises(ValueError, match="student_layers has 2 entries but layer_weights has 3"):
        InvertedTeacherStudent(
            teacher,
            student,
            teacher_layers=teacher.last_layers(),
            student_layers=student.last_layers(2),
        )
    with pytest.raises(TypeError, match="teacher_layers must be a sequence"):
        InvertedTeacherStudent(teacher, student, teacher_layers="encoder", layer_weights=(1.0,))


def test_sequence_shape_mismatch_names_both_layers_and_shapes() -> None:
    its = _one_layer(Taps((2, 4, 5)), Taps((2, 6, 5)))
    message = re.escape(
        "teacher layer 'taps.0' gives shape (2, 4, 5) and student layer 'taps.0' gives shape "
        "(2, 6, 5): they must agree on every dim but the last"
    )
    with pytest.raises(ValueError, match=message):
        its(ONE, ONE, TARGET)


def test_hidden_states_not_laid_out_like_the_target() -> None:
    its = _one_layer(Taps((4, 2, 5)), Taps((4, 2, 5)))
    with pytest.raises(ValueError, match=re.escape("the target has shape (2, 4)")):
        its(ONE, ONE, TARGET)


def test_width_mismatch_without_known_widths_asks_for_dims() -> None:
    its = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 7)))
    with pytest.raises(
        ValueError, match=r"widths 5 and 7 differ.*pass teacher_dims= and student_dims="
    ):
        its(ONE, ONE, TARGET)
    fixed = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 7)), teacher_dims=[5], student_dims=[7])
    assert torch.isfinite(fixed(ONE, ONE, TARGET).loss)


def test_wrongly_inferred_width_is_reported() -> None:
    student = Taps((2, 4, 7))
    student.taps[0].out_features = 9  # the rule reads this attribute, but the output is 7 wide
    its = _one_layer(Taps((2, 4, 5)), student, teacher_dims=[5])
    assert its.projections["0"].in_features == 9
    with pytest.raises(ValueError, match=r"built for widths teacher 5 / student 9"):
        its(ONE, ONE, TARGET)


@pytest.mark.parametrize("name", ["valid", "distill_where"])
def test_mask_of_the_wrong_shape_or_dtype(name: str) -> None:
    its = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 5)))
    bad = {name: torch.ones(2, 5, dtype=torch.bool)}
    message = re.escape(f"{name} has shape (2, 5) but the target has shape (2, 4)")
    with pytest.raises(ValueError, match=message):
        its(ONE, ONE, TARGET, **bad)
    with pytest.raises(TypeError, match=f"{name} must have dtype torch.bool"):
        its(ONE, ONE, TARGET, **{name: torch.ones(2, 4)})


def test_logits_and_target_errors() -> None:
    its = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 5), logits=(2, 5, 3)))
    with pytest.raises(ValueError, match=re.escape("student logits have shape (2, 5, 3)")):
        its(ONE, ONE, TARGET)
    good = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 5)))
    with pytest.raises(TypeError, match="classification needs integer class targets"):
        good(ONE, ONE, TARGET.float())
    regression = _one_layer(Taps((2, 4, 5)), Taps((2, 4, 5)), task="regression")
    with pytest.raises(ValueError, match=re.escape("regression output has shape (2, 4, 3)")):
        regression(ONE, ONE, TARGET.float())


def test_model_without_layers_must_return_hidden_states() -> None:
    its = InvertedTeacherStudent(Taps((2, 4, 5)), Taps((2, 4, 5)), layer_weights=(1.0,))
    with pytest.raises(TypeError, match=r"must return \(logits, hidden_states\).*student_layers"):
        its(ONE, ONE, TARGET)


def test_layer_off_the_forward_path() -> None:
    teacher = Taps((2, 4, 5))
    teacher.unused = nn.Identity()
    its = InvertedTeacherStudent(
        teacher,
        Taps((2, 4, 5)),
        teacher_layers=["unused"],
        student_layers=["taps.0"],
        layer_weights=(1.0,),
    )
    with pytest.raises(RuntimeError, match="'unused' produced no output"):
        its(ONE, ONE, TARGET)


def test_bad_options() -> None:
    student = Taps((2, 4, 5))
    with pytest.raises(ValueError, match="task must be one of"):
        InvertedTeacherStudent(None, student, task="ranking")
    with pytest.raises(ValueError, match="regression_loss must be one of"):
        InvertedTeacherStudent(None, student, regression_loss="huber")
    with pytest.raises(ValueError, match="freeze_teacher=True needs a teacher"):
        InvertedTeacherStudent(None, student, freeze_teacher=True)
    with pytest.raises(ValueError, match="student_dims entries must be positive ints or None"):
        InvertedTeacherStudent(None, student, layer_weights=(1.0,), student_dims=[0])
    with pytest.raises(ValueError, match="layer_weights must be finite and >= 0"):
        InvertedTeacherStudent(None, student, layer_weights=(1.0, -0.1))
    its = _one_layer(Taps((2, 4, 5)), student)
    with pytest.raises(ValueError, match="teacher_inputs is None"):
        its(None, ONE, TARGET)
