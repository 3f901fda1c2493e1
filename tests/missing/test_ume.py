"""evaluate_ume / evaluate_ime: fixed masks, bounded realised rates, metrics, and clear errors."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from missing_modality import (
    DEFAULT_RATES,
    effective_rate,
    evaluate_ime,
    evaluate_ume,
    missing_fraction,
)


class Recorder:
    """Wraps a predict function and keeps every (rate call) present mask, prediction and labels."""

    def __init__(self, function) -> None:
        self.function, self.present, self.outputs = function, [], []

    def __call__(self, features, utterance_mask, present):
        assert not torch.is_grad_enabled()
        output = self.function(features, utterance_mask, present)
        self.present.append(present.clone())
        self.outputs.append(output)
        return output


def test_two_runs_are_identical(batches, oracle) -> None:
    first = evaluate_ume(oracle, batches, seed=3)
    second = evaluate_ume(oracle, batches, seed=3)
    assert first == second
    assert first.to_json() == second.to_json()
    assert first.rates == DEFAULT_RATES
    assert first.per_rate[0] == {"waf": 1.0, "acc": 1.0}
    assert first.decline["acc"] > 0
    assert first.average["acc"] == pytest.approx(np.mean(first.curve("acc")))
    assert first.decline["waf"] == first.per_rate[0]["waf"] - first.per_rate[-1]["waf"]
    assert evaluate_ume(oracle, batches, seed=4) != first


def test_different_models_see_the_same_masks(batches, oracle) -> None:
    def constant(features, utterance_mask, present):
        return torch.zeros(*utterance_mask.shape, 4)

    first, second = Recorder(oracle), Recorder(constant)
    evaluate_ume(first, batches)
    evaluate_ume(second, batches)
    assert len(first.present) == len(batches) * len(DEFAULT_RATES)
    for a, b in zip(first.present, second.present, strict=True):
        assert torch.equal(a, b)


def test_realised_rate_rounds_each_conversation_down_or_up(batches, oracle) -> None:
    """Each conversation drops floor or ceil of r_eff * n * M cells, so the set is within those."""
    result = evaluate_ume(oracle, batches)
    lengths = [int(n) for batch in batches for n in batch.utterance_mask.sum(1)]
    total = sum(lengths)
    assert result.num_utterances == total
    assert result.modalities == ("text", "audio", "video")
    for keep, res in ((1, result), (0, evaluate_ume(oracle, batches, keep_at_least=0))):
        for rate, realised in zip(res.rates, res.realised, strict=True):
            r_eff = effective_rate(rate, 3, keep_at_least=keep)
            low = sum(math.floor(r_eff * n * 3 + 1e-9) for n in lengths)
            high = sum(math.ceil(r_eff * n * 3 - 1e-9) for n in lengths)
            assert low <= round(realised * 3 * total) <= high
            assert abs(realised - r_eff) <= len(lengths) / (3 * total)


def test_metrics_equal_sklearn_on_valid_positions(batches, oracle) -> None:
    recorder = Recorder(oracle)
    result = evaluate_ume(recorder, batches)
    rates = len(DEFAULT_RATES)
    for k in range(rates):
        outputs = recorder.outputs[k::rates]
        pred = np.concatenate(
            [o.argmax(-1)[b.utterance_mask].numpy() for o, b in zip(outputs, batches, strict=True)]
        )
        labels = np.concatenate([b.labels[b.utterance_mask].numpy() for b in batches])
        assert result.per_rate[k]["waf"] == sk.f1_score(labels, pred, average="weighted")
        assert result.per_rate[k]["acc"] == sk.accuracy_score(labels, pred)
        confusion = sk.confusion_matrix(labels, pred, labels=range(4)).tolist()
        assert result.confusion[k] == confusion


def test_masks_depend_on_the_rate_not_on_the_rate_list(batches, oracle) -> None:
    full, alone = Recorder(oracle), Recorder(oracle)
    evaluate_ume(full, batches)
    evaluate_ume(alone, batches, rates=[0.3])
    index = DEFAULT_RATES.index(0.3)
    for batch_index, present in enumerate(alone.present):
        assert torch.equal(present, full.present[batch_index * len(DEFAULT_RATES) + index])


def test_one_shot_iterator_and_numpy_predictions(batches, oracle) -> None:
    def numpy_oracle(features, utterance_mask, present):
        return oracle(features, utterance_mask, present).numpy()

    from_list = evaluate_ume(oracle, batches)
    assert evaluate_ume(numpy_oracle, iter(batches)) == from_list


def test_ime_uses_the_ume_masks(batches, oracle) -> None:
    calls = {0.0: Recorder(oracle), 0.4: Recorder(oracle), 0.7: Recorder(oracle)}
    ime = evaluate_ime(calls, batches, seed=1)
    ume = evaluate_ume(oracle, batches, seed=1)
    assert ime.protocol == "IME"
    assert ime.rates == (0.0, 0.4, 0.7)
    for rate, row in zip(ime.rates, ime.per_rate, strict=True):
        assert row == ume.per_rate[DEFAULT_RATES.index(rate)]
        assert len(calls[rate].present) == len(batches)
    valid = [p[b.utterance_mask] for p, b in zip(calls[0.4].present, batches, strict=True)]
    assert missing_fraction(torch.cat(valid)) == pytest.approx(ime.realised[1])


def test_regression(batch_factory, regressor) -> None:
    batches = batch_factory(task="regression")
    result = evaluate_ume(regressor, batches, task="regression")
    assert result.metrics == ("binary_waf", "mae", "acc2")
    assert result.confusion is None
    values = np.concatenate([regressor(b.features, None, None)[b.utterance_mask] for b in batches])
    labels = np.concatenate([b.labels[b.utterance_mask] for b in batches])
    assert result.per_rate[0]["mae"] == pytest.approx(sk.mean_absolute_error(labels, values))
    keep = labels != 0
    assert result.per_rate[0]["binary_waf"] == pytest.approx(
        sk.f1_score(labels[keep] > 0, values[keep] > 0, average="weighted")
    )

    def trailing_one(features, utterance_mask, present):
        return regressor(features, utterance_mask, present)[..., None]

    assert evaluate_ume(trailing_one, batches, task="regression") == result


@pytest.mark.parametrize("rates", [[0.0, 1.0], [-0.1], [float("nan")], [0.2, 0.2], []])
def test_bad_rates(batches, rates, oracle) -> None:
    with pytest.raises(ValueError, match="rate"):
        evaluate_ume(oracle, batches, rates=rates)


def test_empty_input(batches, oracle) -> None:
    with pytest.raises(ValueError, match="yielded no batch"):
        evaluate_ume(oracle, [])
    empty = SimpleNamespace(
        features={k: v[:, :0] for k, v in batches[0].features.items()},
        utterance_mask=batches[0].utterance_mask[:, :0],
        labels=batches[0].labels[:, :0],
    )
    with pytest.raises(ValueError, match="batch 1 is empty"):
        evaluate_ume(oracle, [batches[0], empty])


def test_wrong_prediction_shapes(batches, oracle) -> None:
    def flat(features, utterance_mask, present):
        return oracle(features, utterance_mask, present).argmax(-1)

    with pytest.raises(ValueError, match=r"batch 0, rate 0: classification predict returned shape"):
        evaluate_ume(flat, batches)
    with pytest.raises(ValueError, match=r"regression predict returned shape .* expected"):
        evaluate_ume(oracle, batches, task="regression")

    def text(features, utterance_mask, present):
        return "no"

    with pytest.raises(TypeError, match="tensor or numpy array"):
        evaluate_ume(text, batches)


def test_other_errors(batches, oracle) -> None:
    with pytest.raises(TypeError, match="has no attribute 'labels'"):
        evaluate_ume(oracle, [SimpleNamespace(features={}, utterance_mask=None)])
    with pytest.raises(ValueError, match="task must be one of"):
        evaluate_ume(oracle, batches, task="ranking")
    bad = [SimpleNamespace(**{**vars(batches[0]), "labels": batches[0].labels + 10})]
    with pytest.raises(ValueError, match=r"class labels .* must lie in \[0, 4\)"):
        evaluate_ume(oracle, bad)
    with pytest.raises(ValueError, match="non-empty mapping"):
        evaluate_ime({}, batches)


def test_warns_for_a_module_in_training_mode(batches, oracle) -> None:
    class Model(torch.nn.Module):
        def forward(self, features, utterance_mask, present):
            return oracle(features, utterance_mask, present)

    with pytest.warns(UserWarning, match="training mode"):
        evaluate_ume(Model(), batches, rates=[0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_ume(Model().eval(), batches, rates=[0.0])
