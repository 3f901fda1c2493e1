"""UME with every rate's masked copy of a batch in one forward equals one forward per rate."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from missing_modality import evaluate_ume

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
DIMS = {"text": 5, "audio": 3, "video": 4}


@dataclass
class Batch:
    features: dict[str, torch.Tensor]
    utterance_mask: torch.Tensor
    labels: torch.Tensor
    ids: list[str]


def make_batches(dtype: torch.dtype, task: str) -> list[Batch]:
    """Three padded batches of conversations of 1..9 utterances."""
    gen = torch.Generator().manual_seed(0)
    batches = []
    for b in range(3):
        lengths = torch.randint(1, 10, (4,), generator=gen)
        mask = torch.arange(9)[None] < lengths[:, None]
        feats = {m: torch.randn(4, 9, d, generator=gen, dtype=dtype) for m, d in DIMS.items()}
        if task == "classification":
            labels = torch.randint(0, 3, (4, 9), generator=gen)
        else:
            labels = torch.randn(4, 9, generator=gen, dtype=dtype)
        batches.append(Batch(feats, mask, labels, [f"c{b}-{i}" for i in range(4)]))
    return batches


class ContextModel:
    """Per utterance: a linear map of its features plus the mean over its conversation's valid
    utterances (so rows of one conversation interact, rows of two never do); counts calls."""

    def __init__(self, dtype: torch.dtype, out: int) -> None:
        gen = torch.Generator().manual_seed(1)
        self.weights = {m: torch.randn(d, out, generator=gen, dtype=dtype) for m, d in DIMS.items()}
        self.out = out
        self.calls = 0
        self.seen: list[torch.Tensor] = []

    def __call__(self, features, utterance_mask, present):
        self.calls += 1
        hidden = sum(features[m] @ w for m, w in self.weights.items())
        weight = utterance_mask.unsqueeze(-1).to(hidden.dtype)
        context = (hidden * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True)
        out = torch.tanh(hidden + context) + present.sum(-1, keepdim=True)
        self.seen.append(out)
        return out if self.out > 1 else out.squeeze(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("task", "out"), [("classification", 3), ("regression", 1)])
def test_stacked_rates_equal_one_forward_per_rate(dtype, task, out) -> None:
    batches = make_batches(dtype, task)
    single, stacked = ContextModel(dtype, out), ContextModel(dtype, out)
    one = evaluate_ume(single, batches, RATES, seed=5, task=task)
    many = evaluate_ume(stacked, batches, RATES, seed=5, task=task, stack_budget=10**9)
    assert single.calls == len(RATES) * len(batches)
    assert stacked.calls == len(batches)
    assert one.realised == many.realised
    for a, b in zip(one.per_rate, many.per_rate, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], abs=1e-6)
    per_rate = torch.cat(single.seen)
    joined = torch.cat([torch.cat(o.chunk(len(RATES))) for o in stacked.seen])
    assert per_rate.shape == joined.shape
    valid = torch.cat([b.utterance_mask for b in batches for _ in RATES])
    assert torch.allclose(per_rate[valid], joined[valid], atol=1e-6)


def test_stack_budget_bounds_the_copies_per_forward() -> None:
    """Batches are 4 x 9 (324 attention cells): a budget of 1000 stacks 3 rates per forward."""
    batches = make_batches(torch.float32, "classification")
    model = ContextModel(torch.float32, 3)
    evaluate_ume(model, batches, RATES, seed=5, stack_budget=1000)
    assert model.calls == len(batches) * 3  # 8 rates in groups of 3, 3, 2
    assert {o.shape[0] for o in model.seen} == {12, 8}


def test_stack_budget_must_be_an_integer() -> None:
    with pytest.raises((TypeError, ValueError), match="stack_budget"):
        evaluate_ume(
            ContextModel(torch.float32, 3),
            make_batches(torch.float32, "c"),
            RATES,
            stack_budget=1.5,
        )
