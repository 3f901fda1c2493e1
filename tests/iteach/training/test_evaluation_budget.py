"""Every evaluation path runs under the run's batch limits: the `Evaluator`'s batches keep
``max_utterances_per_batch``, and so do the IME protocol's test table and `plot`'s t-SNE
(both once batched the test split by count alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from iteach_app.data import build_splits
from iteach_app.model.iteach import ITEACHNet
from iteach_app.training.batching import padded_cost
from iteach_app.training.evaluation import Evaluator
from iteach_app.training.plans import conversation_lengths
from iteach_app.training.protocols import ime_result, protocol_configs
from iteach_app.training.trainer import Trainer

BUDGET = 30  # padded utterances: two or three of the tiny set's conversations (up to 12 long)


def _within(shapes: list[tuple[int, int]]) -> bool:
    """Each (B, L) batch keeps the budget, or holds one conversation (a longer one goes alone)."""
    return all(b * length <= BUDGET or b == 1 for b, length in shapes)


@pytest.fixture
def forwards(monkeypatch) -> list[tuple[int, int]]:
    """(B, L) of every ITEACHNet forward while the fixture is active."""
    shapes: list[tuple[int, int]] = []
    original = ITEACHNet.forward

    def recorded(self, *args, **kwargs):
        mask = kwargs.get("utterance_mask", args[1] if len(args) > 1 else None)
        shapes.append(tuple(mask.shape))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ITEACHNet, "forward", recorded)
    return shapes


def test_evaluator_batches_keep_the_run_budget(make_config) -> None:
    config = make_config(max_utterances_per_batch=BUDGET, batch_size=8)
    data = build_splits(config)
    evaluator = Evaluator.for_run(config, data, torch.device("cpu"))
    assert evaluator.max_utterances_per_batch == BUDGET
    lengths = conversation_lengths(data.train)
    batches = evaluator.batches(data.train)
    assert sum(len(b.utterance_mask) for b in batches) == len(lengths)
    assert _within([tuple(b.utterance_mask.shape) for b in batches])
    assert max(len(b.utterance_mask) for b in batches) > 1  # the budget, not one per batch
    unlimited = Evaluator.for_run(make_config(max_utterances_per_batch=0), data, evaluator.device)
    assert unlimited.max_utterances_per_batch is None
    assert len(unlimited.batches(data.train)) < len(batches)
    assert padded_cost(lengths, list(range(len(lengths)))) > BUDGET  # the limit does bind


def test_ime_table_runs_under_the_budget(tmp_path: Path, make_config, forwards) -> None:
    config = make_config(max_utterances_per_batch=BUDGET, epochs=1, eval_rates=[0.0, 0.5])
    runs = {}
    for rate, rate_config in protocol_configs(config, "ime").items():
        runs[rate] = tmp_path / f"rate{rate:g}"
        Trainer(rate_config, runs[rate], verbose=False).fit()
    forwards.clear()
    result = ime_result(runs, config)
    assert list(result.rates) == [0.0, 0.5]
    assert forwards
    assert _within(forwards), forwards


def test_plot_runs_under_the_budget(tmp_path: Path, make_config, forwards) -> None:
    pytest.importorskip("sklearn")
    from iteach_app.commands.plot import plot_run

    config = make_config(max_utterances_per_batch=BUDGET, epochs=1)
    Trainer(config, tmp_path / "run", verbose=False).fit()
    forwards.clear()
    written = plot_run(tmp_path / "run", out=tmp_path / "figures", device="cpu")
    assert any(path.name == "tsne.png" for path in written)
    assert forwards
    assert _within(forwards), forwards
