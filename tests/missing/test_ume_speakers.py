"""evaluate_ume passes a batch's speakers to a predict that names a ``speakers`` parameter."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from missing_modality import evaluate_ume

from .conftest import make_batches, oracle_logits


def with_speakers(batches: list[SimpleNamespace]) -> list[SimpleNamespace]:
    """The same batches with a (B, L) speaker id per utterance (alternating 0 / 1)."""
    out = []
    for batch in batches:
        b, length = batch.utterance_mask.shape
        speakers = (torch.arange(length) % 2).expand(b, length).clone()
        out.append(SimpleNamespace(**vars(batch), speakers=speakers))
    return out


def speaker_flipping(features, utterance_mask, present, speakers):
    """Oracle logits, rotated by one class on speaker 1: only right if speakers arrive."""
    logits = oracle_logits(features, utterance_mask, present)
    rolled = logits.roll(1, dims=-1)
    return torch.where((speakers == 1).unsqueeze(-1), rolled, logits)


def test_speakers_reach_a_predict_that_names_them() -> None:
    batches = with_speakers(make_batches(3, seed=4))
    seen = []

    def predict(features, utterance_mask, present, speakers=None):
        seen.append(speakers)
        return speaker_flipping(features, utterance_mask, present, speakers)

    evaluate_ume(predict, batches, [0.0, 0.5], seed=1)
    assert len(seen) == 6
    assert all(torch.equal(s, batches[i % 3].speakers) for i, s in enumerate(seen[::2]))


def test_speakers_change_the_predictions_when_used() -> None:
    batches = with_speakers(make_batches(3, seed=4))
    used = evaluate_ume(
        lambda f, m, p, speakers: speaker_flipping(f, m, p, speakers), batches, [0.0]
    )
    zeros = [
        SimpleNamespace(**{**vars(b), "speakers": torch.zeros_like(b.speakers)}) for b in batches
    ]
    ignored = evaluate_ume(
        lambda f, m, p, speakers: speaker_flipping(f, m, p, speakers), zeros, [0.0]
    )
    assert ignored.average["acc"] == 1.0
    assert used.average["acc"] < 1.0


def test_a_three_argument_predict_is_called_as_before() -> None:
    batches = with_speakers(make_batches(2, seed=5))
    calls = []

    def predict(features, utterance_mask, present):
        calls.append(present.shape)
        return oracle_logits(features, utterance_mask, present)

    plain = evaluate_ume(predict, make_batches(2, seed=5), [0.0, 0.3], seed=2)
    assert evaluate_ume(predict, batches, [0.0, 0.3], seed=2) == plain
    assert len(calls) == 8
