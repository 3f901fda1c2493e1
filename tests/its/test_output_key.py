"""Logits read from dicts, Hugging Face ModelOutputs, indices and callables; RNN widths."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent, infer_width


class DictModel(nn.Module):
    """A linear classifier that returns its logits inside a dict under `key` (plus an extra)."""

    def __init__(self, key: str = "scores") -> None:
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.head = nn.Linear(8, 3)
        self.key = key

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.body(x)
        return {"features": hidden, self.key: self.head(hidden)}


def _pair(**kwargs: object) -> InvertedTeacherStudent:
    torch.manual_seed(0)
    return InvertedTeacherStudent(
        DictModel(kwargs.pop("key", "scores")),
        DictModel(kwargs.pop("key2", "scores")),
        teacher_layers=["body"],
        student_layers=["body"],
        layer_weights=(0.5,),
        **kwargs,
    )


def _reference_loss(its: InvertedTeacherStudent, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss computed by hand from the models' heads: mean CE of both + 0.5 * distance."""
    teacher, student = its.teacher, its.student
    ce = nn.functional.cross_entropy
    task = (ce(teacher.head(teacher.body(x)), y) + ce(student.head(student.body(x / 2)), y)) / 2
    distance = (student.body(x / 2) - teacher.body(x)).square().mean()
    return task + 0.5 * distance


DATA = (
    torch.randn(5, 6, generator=torch.Generator().manual_seed(1)),
    torch.tensor([0, 1, 2, 1, 0]),
)


@pytest.mark.parametrize(
    "output_key", ["scores", lambda out: out["scores"]], ids=["key", "callable"]
)
def test_dict_output_read_by_key_or_callable(output_key: object) -> None:
    its = _pair(output_key=output_key)
    x, y = DATA
    out = its(x, x / 2, y)
    torch.testing.assert_close(out.loss, _reference_loss(its, x, y))
    assert its.predict(x).shape == (5, 3)


def test_default_reads_the_logits_entry_of_a_dict() -> None:
    its = _pair(key="logits", key2="logits")
    x, y = DATA
    torch.testing.assert_close(its(x, x / 2, y).loss, _reference_loss(its, x, y))


def test_dict_without_logits_asks_for_output_key() -> None:
    its = _pair()
    x, y = DATA
    with pytest.raises(TypeError, match=r"keys \['features', 'scores'\].*output_key="):
        its(x, x, y)


def test_missing_key_lists_the_keys() -> None:
    its = _pair(output_key="logit")
    x, y = DATA
    with pytest.raises(ValueError, match=r"output_key='logit'.*keys \['features', 'scores'\]"):
        its(x, x, y)


def test_index_and_attribute_keys() -> None:
    model = nn.Linear(4, 3)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 1, 0])
    tupled = InvertedTeacherStudent(None, nn.Sequential(model), output_key=1)
    tupled.student.forward = lambda inputs: (None, model(inputs))
    torch.testing.assert_close(tupled.predict(x), model(x))
    named = InvertedTeacherStudent(None, nn.Sequential(model), output_key="scores")
    named.student.forward = lambda inputs: types.SimpleNamespace(scores=model(inputs))
    torch.testing.assert_close(named(None, x, y).loss, nn.functional.cross_entropy(model(x), y))
    with pytest.raises(ValueError, match="output_key=1 indexes the student's output"):
        InvertedTeacherStudent(None, model, output_key=1).predict(x)


def test_hugging_face_model_output() -> None:
    outputs = pytest.importorskip("transformers.modeling_outputs", reason="needs transformers")

    class HFStyle(DictModel):
        def forward(self, x: torch.Tensor):  # type: ignore[override]
            hidden = self.body(x)
            return outputs.SequenceClassifierOutput(logits=self.head(hidden), hidden_states=None)

    torch.manual_seed(0)
    its = InvertedTeacherStudent(
        HFStyle(), HFStyle(), teacher_layers=["body"], student_layers=["body"], layer_weights=(0.5,)
    )
    x, y = DATA
    torch.testing.assert_close(its(x, x / 2, y).loss, _reference_loss(its, x, y))


@pytest.mark.parametrize(
    ("rnn", "width"),
    [
        (nn.GRU(6, 10, batch_first=True), 10),
        (nn.GRU(6, 10, batch_first=True, bidirectional=True), 20),
        (nn.LSTM(6, 10, batch_first=True, bidirectional=True), 20),
        (nn.LSTM(6, 10, batch_first=True, bidirectional=True, proj_size=4), 8),
        (nn.RNN(6, 10, num_layers=2, batch_first=True, bidirectional=True), 20),
    ],
)
@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
def test_rnn_width_is_its_output_width(rnn: nn.RNNBase, width: int) -> None:
    assert infer_width(rnn) == width
    assert rnn(torch.randn(2, 5, 6))[0].shape[-1] == width


class RNNTagger(nn.Module):
    """(B, L, 6) -> (B, L, 3) through a bidirectional GRU of `hidden` units per direction."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(6, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


def test_bidirectional_gru_distills_without_dims() -> None:
    torch.manual_seed(0)
    its = InvertedTeacherStudent(
        RNNTagger(4),
        RNNTagger(8),
        teacher_layers=["rnn"],
        student_layers=["rnn"],
        layer_weights=(1,),
    )
    assert (its.projections["0"].in_features, its.projections["0"].out_features) == (16, 8)
    x = torch.randn(2, 5, 6)
    out = its(x, x, torch.zeros(2, 5, dtype=torch.long))
    expected = (its.projections["0"](its.student.rnn(x)[0]) - its.teacher.rnn(x)[0]).square().mean()
    torch.testing.assert_close(out.layer_distances[0], expected)
