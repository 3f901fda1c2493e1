"""Hidden states read from a model's output (a Hugging Face model's `output_hidden_states=True`),
a wrong `output_key` refused instead of trained on, and widths from `config.hidden_size` /
timm-style `num_features`. The BERTs are built from tiny random configs: nothing is downloaded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from its_distill import InvertedTeacherStudent

transformers = pytest.importorskip(
    "transformers", reason="the Hugging Face tests need transformers"
)


def _tagger(hidden: int, layers: int, *, num_labels: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=32, num_labels=num_labels,
    )  # fmt: skip
    return transformers.BertForTokenClassification(config).eval()


def _batch(hidden_states: bool = True):
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(5, 50, (3, 7), generator=g)
    valid = torch.ones(3, 7, dtype=torch.bool)
    valid[2, 5:] = False
    labels = (tokens % 3).masked_fill(~valid, -100)
    inputs = {"input_ids": tokens, "attention_mask": valid.long()}
    if hidden_states:
        inputs["output_hidden_states"] = True
    return inputs, labels, valid


def test_hidden_states_from_the_output_match_the_hooked_layers() -> None:
    inputs, labels, valid = _batch()
    by_output = InvertedTeacherStudent(
        _tagger(16, 2), _tagger(32, 3, seed=1),
        teacher_layers=["hidden_states[-1]", "hidden_states[-2]"],
        student_layers=["hidden_states[-1]", "hidden_states[-2]"],
        layer_weights=(0.5, 0.1),
    )  # fmt: skip
    assert set(by_output.projections) == {"0", "1"}  # widths 32 -> 16 from config.hidden_size
    assert by_output.projections["0"].in_features == 32
    by_hooks = InvertedTeacherStudent(
        by_output.teacher, by_output.student,
        teacher_layers=["bert.encoder.layer.1", "bert.encoder.layer.0"],
        student_layers=["bert.encoder.layer.2", "bert.encoder.layer.1"],
        layer_weights=(0.5, 0.1),
    )  # fmt: skip
    by_hooks.projections.load_state_dict(by_output.projections.state_dict())
    with torch.no_grad():
        a = by_output(inputs, inputs, labels, valid=valid)
        b = by_hooks(inputs, inputs, labels, valid=valid)
    for x, y in zip(a.layer_distances, b.layer_distances, strict=True):
        torch.testing.assert_close(x, y)
    assert a.distill_loss > 0


def test_first_token_of_a_state_for_a_sequence_target() -> None:
    inputs, _, _ = _batch()
    target = torch.tensor([0, 2, 1])
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, num_labels=3,
    )  # fmt: skip
    model = transformers.BertForSequenceClassification(config).eval()
    its = InvertedTeacherStudent(
        model, model, teacher_layers=["hidden_states[-1][:, 0]"],
        student_layers=["hidden_states[-1][:, 0]"], layer_weights=(1.0,),
    )  # fmt: skip
    out = its(inputs, inputs, target)
    assert out.layer_distances[0].item() == pytest.approx(0.0, abs=1e-6)


def test_forgetting_output_hidden_states_is_a_clear_error() -> None:
    inputs, labels, valid = _batch(hidden_states=False)
    its = InvertedTeacherStudent(
        _tagger(16, 1), _tagger(16, 1, seed=1), teacher_layers=["hidden_states[-1]"],
        student_layers=["hidden_states[-1]"], layer_weights=(1.0,),
    )  # fmt: skip
    with pytest.raises(ValueError, match="output_hidden_states=True"):
        its(inputs, inputs, labels, valid=valid)


def test_an_index_past_the_layers_names_the_count() -> None:
    inputs, labels, valid = _batch()
    its = InvertedTeacherStudent(
        _tagger(16, 1), _tagger(16, 1, seed=1), teacher_layers=["hidden_states[5]"],
        student_layers=["hidden_states[-1]"], layer_weights=(1.0,),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"holds 2 states"):
        its(inputs, inputs, labels, valid=valid)


def test_a_hugging_face_base_models_last_hidden_state_is_not_taken_for_logits() -> None:
    inputs, labels, valid = _batch()
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, num_labels=3,
    )  # fmt: skip
    encoder = transformers.BertModel(config).eval()
    its = InvertedTeacherStudent(None, encoder, output_key="last_hidden_state")
    with pytest.raises(ValueError, match=r"config.num_labels is 3"):
        its(None, inputs, labels, valid=valid)
    with pytest.raises(ValueError, match=r"\(3, 7, 32\)"):
        its.predict(inputs)


def test_last_hidden_state_with_32_entries_against_3_labels() -> None:
    class Encoder(nn.Module):
        """Returns a dict like a Hugging Face base model: no logits, a (B, L, 32) state."""

        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(4, 32)

        def forward(self, x):
            return {"last_hidden_state": self.body(x)}

    x, labels = torch.randn(2, 5, 4), torch.randint(0, 3, (2, 5))
    its = InvertedTeacherStudent(None, Encoder(), output_key="last_hidden_state", num_classes=3)
    with pytest.raises(ValueError, match=r"shape \(2, 5, 32\), but num_classes is 3"):
        its(None, x, labels)


class Pooled(nn.Module):
    """A timm-style classifier: conv features, global pooling, a head; `num_features` is the
    pooled width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.num_features = width
        self.features = nn.Sequential(nn.Conv1d(2, width, 3, padding=1), nn.ReLU())
        self.global_pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.global_pool(self.features(x))))


def test_pooled_layers_take_the_models_num_features() -> None:
    its = InvertedTeacherStudent(
        Pooled(8), Pooled(24), teacher_layers=["flatten"], student_layers=["flatten"],
        layer_weights=(1.0,),
    )  # fmt: skip
    projection = its.projections["0"]
    assert (projection.in_features, projection.out_features) == (24, 8)
    x, y = torch.randn(4, 2, 10), torch.tensor([0, 1, 2, 1])
    out = its(x, x, y)
    assert out.distill_loss > 0
    out.loss.backward()
    assert projection.weight.grad is not None
