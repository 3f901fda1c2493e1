"""missing_modality under hostile input: non-finite predictions, batching-free masks.

Cases, each a test below:
- all-NaN, one-inf and NaN regression predictions -> ValueError naming batch and rate;
- NaN on padding only -> scored (padding never counts);
- the same model and conversations give identical UME results with batch sizes 1, 3 and 32,
  with conversation ids and (same order) without them;
- shuffling the conversations (ids given) changes nothing;
- a conversation's mask is the same whichever other conversations are evaluated;
- ids whose count differs from the batch size, and None ids -> ValueError.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from missing_modality import evaluate_ume
from missing_modality.conversation_mask import conversation_mask

NUM_CLASSES = 4
NAMES = ("text", "audio", "video")


def make_conversations(count: int = 40, seed: int = 0) -> list[dict]:
    """Conversations of 1..12 utterances whose labels follow the modalities' first features."""
    generator = torch.Generator().manual_seed(seed)
    conversations = []
    for index in range(count):
        length = int(torch.randint(1, 13, (1,), generator=generator))
        features = {m: torch.randn(length, 6, generator=generator) for m in NAMES}
        labels = sum(x[:, :NUM_CLASSES] for x in features.values()).argmax(-1)
        conversations.append({"id": f"dialogue_{index}", "features": features, "labels": labels})
    return conversations


def batched(conversations: list[dict], size: int, *, with_ids: bool = True) -> list:
    """Padded duck-typed batches of ``size`` conversations (ids only when ``with_ids``)."""
    batches = []
    for start in range(0, len(conversations), size):
        chunk = conversations[start : start + size]
        length = max(len(c["labels"]) for c in chunk)
        mask = torch.zeros(len(chunk), length, dtype=torch.bool)
        labels = torch.full((len(chunk), length), -100, dtype=torch.long)
        features = {m: torch.zeros(len(chunk), length, 6) for m in NAMES}
        for row, conv in enumerate(chunk):
            n = len(conv["labels"])
            mask[row, :n] = True
            labels[row, :n] = conv["labels"]
            for m in NAMES:
                features[m][row, :n] = conv["features"][m]
        batch = SimpleNamespace(features=features, utterance_mask=mask, labels=labels)
        if with_ids:
            batch.ids = [c["id"] for c in chunk]
        batches.append(batch)
    return batches


def linear(features, utterance_mask, present):
    return sum(x[..., :NUM_CLASSES] for x in features.values())


def test_all_nan_predictions_are_refused() -> None:
    def nan_model(features, utterance_mask, present):
        return torch.full((*utterance_mask.shape, NUM_CLASSES), float("nan"))

    with pytest.raises(ValueError, match=r"batch 0, rate 0: predict returned \d+ non-finite"):
        evaluate_ume(nan_model, batched(make_conversations(5), 2))


def test_a_single_inf_prediction_is_refused() -> None:
    def one_inf(features, utterance_mask, present):
        out = linear(features, utterance_mask, present).clone()
        out[0, 0, 1] = float("inf")
        return out

    with pytest.raises(ValueError, match="1 non-finite values"):
        evaluate_ume(one_inf, batched(make_conversations(5), 2))


def test_nan_regression_values_are_refused() -> None:
    batches = batched(make_conversations(4), 2)
    for batch in batches:
        batch.labels = batch.labels.float().masked_fill(~batch.utterance_mask, 0.0) - 1.5

    def nan_values(features, utterance_mask, present):
        return torch.full(utterance_mask.shape, float("nan"))

    with pytest.raises(ValueError, match="non-finite"):
        evaluate_ume(nan_values, batches, task="regression")


def test_nan_on_padding_only_is_scored() -> None:
    batches = batched(make_conversations(6), 3)

    def nan_on_padding(features, utterance_mask, present):
        out = linear(features, utterance_mask, present).clone()
        out[~utterance_mask] = float("nan")
        return out

    assert evaluate_ume(nan_on_padding, batches) == evaluate_ume(linear, batches)


@pytest.mark.parametrize("with_ids", [True, False])
def test_results_do_not_depend_on_the_batch_size(with_ids: bool) -> None:
    conversations = make_conversations()
    results = [
        evaluate_ume(linear, batched(conversations, size, with_ids=with_ids), seed=7)
        for size in (1, 3, 32)
    ]
    assert results[0] == results[1] == results[2]
    assert results[0].per_rate[0]["waf"] == 1.0  # nothing missing: the linear model is exact
    assert results[0].per_rate[-1]["waf"] < 1.0  # masks really were applied


def test_results_do_not_depend_on_the_conversation_order() -> None:
    conversations = make_conversations()
    shuffled = [conversations[i] for i in torch.randperm(len(conversations)).tolist()]
    assert evaluate_ume(linear, batched(conversations, 4)) == evaluate_ume(
        linear, batched(shuffled, 5)
    )


def test_a_conversation_mask_ignores_the_other_conversations() -> None:
    seen: list[torch.Tensor] = []

    def record(features, utterance_mask, present):
        seen.append(present[0, utterance_mask[0]].clone())
        return linear(features, utterance_mask, present)

    conversations = make_conversations(10)
    target = conversations[3]
    evaluate_ume(record, batched([target], 1), rates=[0.5], seed=3)
    alone = seen[-1]
    evaluate_ume(record, batched([target, *conversations], 11), rates=[0.5], seed=3)
    assert torch.equal(seen[-1], alone)
    expected = conversation_mask(
        len(target["labels"]), 3, 0.5, seed=3, conversation_id="dialogue_3"
    )
    assert torch.equal(alone, expected)


def test_ids_that_do_not_fit_the_batch_are_refused() -> None:
    batches = batched(make_conversations(4), 2)
    batches[1].ids = ["only_one"]
    with pytest.raises(ValueError, match="batch 1: 1 conversation ids for 2 conversations"):
        evaluate_ume(linear, batches)
    batches[1].ids = [None, "x"]
    with pytest.raises(ValueError, match="conversation id must be a non-empty"):
        evaluate_ume(linear, batches)
