"""The run's batch plans: the default is today's shuffle, the budget holds, resume is exact,
evaluation batches do not change UME."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from iteach_app.data import build_splits, chunks
from iteach_app.training.batching import padded_cost
from iteach_app.training.callbacks import without_timing
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework
from iteach_app.training.plans import (
    conversation_lengths,
    epoch_batches,
    evaluation_batches,
    too_long,
)
from iteach_app.training.step import generator
from iteach_app.training.trainer import Trainer
from tests.iteach.conftest import Interrupt, assert_same_checkpoint, crash_at_step

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
MIXED = {"synthetic_dialogues": 24, "synthetic_max_length": 40, "batch_size": 6}


@pytest.fixture(scope="module")
def mixed(make_config):
    """A config with conversations of 2..40 utterances and a budget of 60 padded utterances."""
    config = make_config(**MIXED, max_utterances_per_batch=60)
    return config, build_splits(config)


def test_without_budget_the_plan_is_the_seeded_shuffle_cut_into_batches(make_config) -> None:
    config = make_config(**MIXED, max_utterances_per_batch=0)
    data = build_splits(config)
    for epoch in range(3):
        order = torch.randperm(len(data.train), generator=generator(config.seed, "order", epoch))
        expected = chunks(order.tolist(), config.batch_size)
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

    crash = crash_at_step(4)

    with pytest.raises(Interrupt):
        Trainer(config, tmp_path / "cut", data=data, verbose=False, on_step=crash).fit()
    resumed = Trainer(config, tmp_path / "cut", data=data, verbose=False, resume=True).fit()
    assert without_timing(resumed.history) == without_timing(whole.history)
    assert resumed.ume.per_rate == whole.ume.per_rate
    assert_same_checkpoint(tmp_path / "whole", tmp_path / "cut")


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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_all_rates_in_one_forward_equal_one_forward_per_rate(mixed, dtype) -> None:
    """The student's logits for every rate, stacked along B, match per-rate forwards."""
    config, data = mixed
    model = build_framework(config, data.modality_dims, data.out_dim, data.task).to(dtype)
    batches = evaluation_batches(data.test, 6, 60, torch.device("cpu"))
    for batch in batches:
        batch.features = {k: v.to(dtype) for k, v in batch.features.items()}
    logits: dict[str, list[torch.Tensor]] = {"one": [], "stacked": []}

    def recording(name: str):
        def hook(module, args, kwargs, output):
            logits[name].append(output)

        return model.student.register_forward_hook(hook, with_kwargs=True)

    kwargs = {"task": data.task, "rates": RATES, "seed": 2, "keep_at_least": 1}
    handle = recording("one")
    one = evaluate_student(model.student, batches, stack_budget=None, **kwargs)
    handle.remove()
    handle = recording("stacked")
    stacked = evaluate_student(model.student, batches, stack_budget=10**9, **kwargs)
    handle.remove()
    assert len(logits["stacked"]) == len(batches)
    assert len(logits["one"]) == len(batches) * len(RATES)
    for k, batch in enumerate(batches):
        per_rate = logits["one"][k * len(RATES) : (k + 1) * len(RATES)]
        for single, joined in zip(per_rate, logits["stacked"][k].chunk(len(RATES)), strict=True):
            valid = batch.utterance_mask
            assert torch.allclose(single[valid], joined[valid], atol=1e-6, rtol=0)
    assert one.realised == stacked.realised
    assert one.per_rate == stacked.per_rate


def test_bf16_training_and_evaluation_run(tmp_path: Path, make_config) -> None:
    config = make_config(precision="bf16", epochs=1)
    result = Trainer(config, tmp_path / "bf16", verbose=False).fit()
    assert result.history[0]["steps"] == 3
    assert all(0.0 <= row["waf"] <= 1.0 for row in result.ume.per_rate)
