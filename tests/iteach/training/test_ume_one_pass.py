"""UME in one pass: the eight rates' masked copies of a batch go through one forward wherever the
memory cap allows (validation, the final test table, `evaluate`), chunks beyond it, and the
numbers are those of one forward per rate, with or without length buckets."""

from __future__ import annotations

import pytest
import torch

from iteach_app.data import build_splits
from iteach_app.model.iteach import ITEACHNet
from iteach_app.training.evaluation import STACK_CELLS, evaluate_run, evaluate_student
from iteach_app.training.framework import build_framework
from iteach_app.training.plans import evaluation_batches
from iteach_app.training.trainer import Trainer

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@pytest.fixture(scope="module")
def long_data(make_config):
    """Conversations of up to 110 utterances (IEMOCAP's longest), more than 32 in train."""
    config = make_config(synthetic_dialogues=48, synthetic_max_length=110)
    return config, build_splits(config)


def _forwards(student, run) -> tuple[object, int]:
    calls = []
    handle = student.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        return run(), len(calls)
    finally:
        handle.remove()


def test_eight_rates_of_a_paper_batch_take_one_forward(long_data) -> None:
    config, data = long_data
    model = build_framework(config, data.modality_dims, data.out_dim, data.task)
    batches = evaluation_batches(data.train, 32, None, torch.device("cpu"))
    assert max(b.utterance_mask.shape[1] for b in batches) > 60
    assert all(
        len(RATES) * b.utterance_mask.numel() * b.utterance_mask.shape[1] <= STACK_CELLS
        for b in batches
    )
    kwargs = {"task": data.task, "rates": RATES, "seed": 3, "keep_at_least": 1}
    stacked, calls = _forwards(
        model.student, lambda: evaluate_student(model.student, batches, **kwargs)
    )
    assert calls == len(batches)
    one, calls = _forwards(
        model.student, lambda: evaluate_student(model.student, batches, stack_budget=None, **kwargs)
    )
    assert calls == len(batches) * len(RATES)
    assert stacked.to_dict() == one.to_dict()
    # a cap below a batch's eight copies falls back to chunks, same numbers
    cells = max(b.utterance_mask.numel() * b.utterance_mask.shape[1] for b in batches)
    chunked, calls = _forwards(
        model.student,
        lambda: evaluate_student(model.student, batches, stack_budget=3 * cells, **kwargs),
    )
    assert len(batches) < calls < len(batches) * len(RATES)
    assert chunked.to_dict() == one.to_dict()
    # the same numbers without length buckets (the padded forward)
    model.student.bucket_forward = False
    padded = evaluate_student(model.student, batches, stack_budget=None, **kwargs)
    assert padded.to_dict() == one.to_dict()


def test_final_table_and_evaluate_are_one_pass_and_unchanged(
    make_config, tiny_data, tmp_path, monkeypatch
) -> None:
    config = make_config(epochs=1)
    result = Trainer(config, tmp_path / "run", data=tiny_data, verbose=False).fit()
    calls = []
    original = ITEACHNet.forward

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ITEACHNet, "forward", counted)
    _, evaluated = evaluate_run(tmp_path / "run")
    batches = evaluation_batches(
        tiny_data.test,
        config.batch_size,
        config.max_utterances_per_batch or None,
        torch.device("cpu"),
    )
    assert len(calls) == len(batches)
    assert evaluated.to_dict() == result.ume.to_dict()
