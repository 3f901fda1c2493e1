"""Batch plans: every conversation once per epoch, within the count and the padded budget."""

from __future__ import annotations

import pytest
import torch

from iteach_app.training.batching import (
    BatchPlanError,
    pack,
    padded_cost,
    plan_epoch,
    plan_fixed,
)


def _lengths(count: int, seed: int) -> list[int]:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 120, (count,), generator=gen).tolist()
    lengths[seed % count] = 600
    return lengths


@pytest.mark.parametrize("length_aware", [False, True])
@pytest.mark.parametrize("budget", [None, 64, 700, 2000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plan_covers_each_conversation_once_within_limits(length_aware, budget, seed):
    lengths = _lengths(97, seed)
    batches = plan_epoch(
        lengths,
        max_conversations=8,
        max_utterances_per_batch=budget,
        length_aware=length_aware,
        generator=torch.Generator().manual_seed(seed),
    )
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= 8
        if budget is not None and len(batch) > 1:
            assert padded_cost(lengths, batch) <= budget


def test_conversation_longer_than_budget_goes_alone():
    lengths = [5, 600, 5, 5]
    batches = pack([0, 1, 2, 3], lengths, max_conversations=4, max_utterances_per_batch=100)
    assert [1] in batches
    assert batches == [[0], [1], [2, 3]]


def test_same_generator_seed_gives_same_plan_and_other_seed_differs():
    lengths = _lengths(60, 3)

    def plan(seed):
        return plan_epoch(
            lengths,
            max_conversations=4,
            max_utterances_per_batch=500,
            length_aware=True,
            generator=torch.Generator().manual_seed(seed),
        )

    assert plan(5) == plan(5)
    assert plan(5) != plan(6)


def test_plain_plan_is_the_shuffle_cut_into_batches():
    lengths = _lengths(50, 4)
    order = torch.randperm(50, generator=torch.Generator().manual_seed(9)).tolist()
    expected = [order[i : i + 7] for i in range(0, 50, 7)]
    got = plan_epoch(lengths, max_conversations=7, generator=torch.Generator().manual_seed(9))
    assert got == expected


def test_length_aware_plan_pads_less():
    lengths = _lengths(200, 5)

    def padding(length_aware):
        batches = plan_epoch(
            lengths,
            max_conversations=16,
            length_aware=length_aware,
            generator=torch.Generator().manual_seed(0),
        )
        return sum(padded_cost(lengths, b) for b in batches) - sum(lengths)

    assert padding(True) < padding(False) / 2


def test_fixed_plan_sorted_by_length_and_complete():
    lengths = [30, 10, 20, 10, 50]
    batches = plan_fixed(lengths, max_conversations=2)
    assert batches == [[1, 3], [2, 0], [4]]
    assert plan_fixed(lengths, max_conversations=2, length_aware=False) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_conversations": 0}, "batch_size"),
        ({"max_conversations": 2, "max_utterances_per_batch": 0}, "max_utterances_per_batch"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(BatchPlanError, match=message):
        pack([0, 1], [3, 4], **kwargs)


def test_empty_conversation_is_named():
    with pytest.raises(BatchPlanError, match="conversation 1 has 0"):
        plan_fixed([3, 0], max_conversations=2)
