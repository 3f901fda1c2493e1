"""The run's batch plans: the default is today's shuffle, the budget holds, resume is exact,
evaluation batches do not change UME."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from iteach_app.data import build_splits, chunks, epoch_order
from iteach_app.training.batching import padded_cost
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework
from iteach_app.training.loop import TrainState
from iteach_app.training.plans import (
    conversation_lengths,
    epoch_batches,
    evaluation_batches,
    too_long,
)
from iteach_app.training.trainer import Trainer

MIXED = {"synthetic_dialogues": 24, "synthetic_max_length": 40, "batch_size": 6}


class Interrupt(Exception):
    """Stands in for a crash in the middle of an epoch."""


@pytest.fixture(scope="module")
def mixed(make_config):
    """A config with conversations of 2..40 utterances and a budget of 60 padded utterances."""
    config = make_config(**MIXED, max_utterances_per_batch=60)
    return config, build_splits(config)


def test_without_budget_the_plan_is_the_seeded_shuffle_cut_into_batches(make_config) -> None:
    config = make_config(**MIXED, max_utterances_per_batch=0)
    data = build_splits(config)
    for epoch in range(3):
        expected = chunks(epoch_order(len(data.train), config.seed, epoch), config.batch_size)
        assert epoch_batches(data.train, config, epoch) == expected


def test_training_batches_keep_the_budget_and_cover_the_epoch(mixed) -> None:
    config, data = mixed
    lengths = conversation_lengths(data.train)
    assert max(lengths) > 30  # some pairs cannot share a batch of 60
    for length_aware in (False, True):
        config.length_aware = length_aware
        batches = epoch_batches(data.train, config, 0)
        assert sorted(i for b in batches for i in b) == list(range(len(data.train)))
        for batch in batches:
            assert len(batch) <= config.batch_size
            assert len(batch) == 1 or padded_cost(lengths, batch) <= 60
    config.length_aware = False


def test_a_conversation_longer_than_the_budget_trains_alone(mixed) -> None:
    config, data = mixed
    lengths = conversation_lengths(data.train)
    budget = max(lengths) - 1
    config.max_utterances_per_batch = budget
    longer = [i for i, length in enumerate(lengths) if length > budget]
    batches = epoch_batches(data.train, config, 1)
    assert longer
    assert all([i] in batches for i in longer)
    assert too_long(data.train, budget) == [(str(data.train[i].id), lengths[i]) for i in longer]
    config.max_utterances_per_batch = 60


def test_resume_mid_epoch_with_a_budget_matches_uninterrupted(tmp_path: Path, make_config) -> None:
    config = make_config(
        **MIXED, max_utterances_per_batch=60, length_aware=True, checkpoint_every=1
    )
    data = build_splits(config)
    whole = Trainer(config, tmp_path / "whole", data=data, verbose=False).fit()

    def crash(state: TrainState) -> None:
        if state.global_step == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        Trainer(config, tmp_path / "cut", data=data, verbose=False, on_step=crash).fit()
    resumed = Trainer(config, tmp_path / "cut", data=data, verbose=False, resume=True).fit()
    assert resumed.history == whole.history
    assert resumed.ume.per_rate == whole.ume.per_rate
    a = load_file(tmp_path / "whole" / "checkpoints" / "last.safetensors")
    b = load_file(tmp_path / "cut" / "checkpoints" / "last.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluation_batching_does_not_change_ume(mixed) -> None:
    """Masks are keyed by conversation, the model treats rows alone: any batching, same UME."""
    config, data = mixed
    model = build_framework(config, data.modality_dims, data.out_dim, data.task)
    kwargs = {"task": data.task, "rates": (0.0, 0.4, 0.7), "seed": 3, "keep_at_least": 1}
    cpu = torch.device("cpu")
    results = [
        evaluate_student(
            model.student, evaluation_batches(data.test, size, budget, cpu), **kwargs
        ).per_rate
        for size, budget in ((1, None), (32, None), (6, 60))
    ]
    assert results[0] == results[1] == results[2]
