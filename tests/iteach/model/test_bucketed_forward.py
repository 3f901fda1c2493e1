"""Length buckets inside a batch: the split's cost is the least of every contiguous split, and a
bucketed forward equals the padded one (logits, hidden states, router weights; in training the
loss and every gradient) on random shapes, with ECCE biases and missing modalities."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from erc_data import collate_conversations
from iteach_app.model import create_model
from iteach_app.model.buckets import (
    DEFAULT_COST,
    BucketCost,
    Scatter,
    extents,
    plan_buckets,
    split_batch,
)
from iteach_app.training.framework import build_framework
from iteach_app.training.step import run_step
from missing_modality import ModalityMasker, parse_schedule

DIMS = {"text": 10, "audio": 6, "video": 8}
EVERY_LENGTH = BucketCost(per_call=0.0)  # one bucket per distinct length: the most splitting


def _brute_force(lengths: list[int], cost: BucketCost) -> float:
    """Least cost over every split of the sorted distinct lengths into contiguous groups."""
    distinct = sorted(set(lengths))
    count = {size: lengths.count(size) for size in distinct}
    best = float("inf")
    for cuts in itertools.product((False, True), repeat=len(distinct) - 1):
        total, members = 0.0, 0
        for index, size in enumerate(distinct):
            members += count[size]
            if index == len(distinct) - 1 or cuts[index]:
                total += cost(members, size)
                members = 0
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_plan_is_the_cheapest_contiguous_split(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [rng.randint(1, 110) for _ in range(rng.randint(1, 10))]
    cost = BucketCost(per_call=rng.choice([0.0, 50.0, 600.0]), per_cell=rng.choice([0.0, 0.05]))
    groups = plan_buckets(lengths, cost)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for first, second in itertools.pairwise(groups):
        assert max(lengths[i] for i in first) < min(lengths[i] for i in second)
    total = sum(cost(len(g), max(lengths[i] for i in g)) for g in groups)
    assert total == pytest.approx(_brute_force(lengths, cost))


def test_cost_model_trades_calls_for_padding() -> None:
    lengths = [5] * 16 + [100] * 16
    assert len(plan_buckets(lengths, DEFAULT_COST)) == 2  # the padding saved pays for a call
    assert len(plan_buckets([40, 41, 42], DEFAULT_COST)) == 1  # not worth a call
    assert len(plan_buckets(lengths, BucketCost(per_call=1e9))) == 1


def test_extents_and_scatter_put_rows_back() -> None:
    mask = torch.zeros(4, 9, dtype=torch.bool)
    for row, length in enumerate((3, 9, 0, 5)):
        mask[row, :length] = True
    mask[3, 1] = False  # a hole: the extent is still one past the last real utterance
    assert extents(mask) == [3, 9, 1, 5]
    values = torch.randn(4, 9, 2)
    buckets = split_batch(mask, EVERY_LENGTH)
    out = Scatter(buckets, mask)([b.take(values) for b in buckets])
    assert torch.equal(out[mask], values[mask])
    assert not out[~mask].any()


def _batch(dtype: torch.dtype, seed: int, missing: bool):
    gen = torch.Generator().manual_seed(seed)
    batch = int(torch.randint(3, 8, (), generator=gen))
    lengths = torch.randint(1, 30, (batch,), generator=gen)
    length = int(lengths.max()) + int(torch.randint(0, 4, (), generator=gen))
    mask = torch.arange(length)[None] < lengths[:, None]
    features = {
        name: torch.randn(batch, length, dim, generator=gen, dtype=dtype) * mask[..., None]
        for name, dim in DIMS.items()
    }
    present = None
    if missing:
        present = torch.rand(batch, length, len(DIMS), generator=gen) > 0.4
        present[..., 0] |= ~present.any(-1)
        present &= mask[..., None]
    return features, mask, present


def _model(kind: str, ecce: str, dtype: torch.dtype, cost: BucketCost):
    torch.manual_seed(0)
    model = create_model(
        kind, DIMS, 5, hidden_dim=16, num_heads=2, window=3, max_distance=5, ecce=ecce
    )
    model.bucket_cost = cost
    return model.to(dtype).eval()


def _run(model, bucketed: bool, features, mask, present):
    model.bucket_forward = bucketed
    captured = {}
    hooks = [
        model.get_submodule(path).register_forward_hook(
            lambda _m, _a, out, path=path: captured.__setitem__(path, out)
        )
        for path in model.hidden_layer_paths(len(model.layers))
    ]
    try:
        with torch.no_grad():
            logits = model(features, mask, present)
    finally:
        for hook in hooks:
            hook.remove()
    return logits, captured, [w.clone() for w in model.router_weights]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("kind", "ecce"), [("attention", "full"), ("nas", "global"), ("nas", "none")]
)
@pytest.mark.parametrize("cost", [EVERY_LENGTH, DEFAULT_COST], ids=["every_length", "default"])
@pytest.mark.parametrize("seed", range(3))
def test_bucketed_forward_equals_padded(dtype, kind, ecce, cost, seed) -> None:
    features, mask, present = _batch(dtype, seed, missing=seed != 0)
    if cost is EVERY_LENGTH:
        assert len(split_batch(mask, cost)) == len(set(extents(mask))) > 1
    model = _model(kind, ecce, dtype, cost)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    padded, padded_hidden, padded_weights = _run(model, False, features, mask, present)
    logits, hidden, weights = _run(model, True, features, mask, present)
    assert torch.allclose(logits[mask], padded[mask], atol=tol, rtol=tol)
    if len(split_batch(mask, cost)) > 1:
        assert not logits[~mask].any()  # padded rows of a bucketed forward are zero
    assert hidden.keys() == padded_hidden.keys()
    for path, state in hidden.items():
        assert state.shape == padded_hidden[path].shape
        assert torch.allclose(state[mask], padded_hidden[path][mask], atol=tol, rtol=tol)
    assert len(weights) == len(padded_weights) == (len(model.layers) if kind == "nas" else 0)
    for got, expected in zip(weights, padded_weights, strict=True):
        assert torch.allclose(got[mask], expected[mask], atol=tol, rtol=tol)


@pytest.mark.parametrize("framework", ["its", "pre", "ts"])
def test_training_loss_and_gradients_equal_padded(framework, make_config, tiny_data) -> None:
    """With dropout off, a bucketed step is the padded step: same loss, same gradients."""
    config = make_config(framework=framework, dropout=0.0, batch_size=6)
    model = build_framework(config, tiny_data.modality_dims, tiny_data.out_dim, "classification")
    model = model.double()
    roles = [m for m in (model.teacher, model.student) if m is not None]
    for role in roles:
        role.bucket_cost = EVERY_LENGTH
    batch = collate_conversations([tiny_data.train[i] for i in range(6)])
    lengths = torch.tensor([12, 3, 7, 12, 5, 9]).clamp(max=batch.utterance_mask.shape[1])
    batch.utterance_mask = batch.utterance_mask & (torch.arange(12)[None] < lengths[:, None])
    batch.features = {
        name: x.double() * batch.utterance_mask[..., None] for name, x in batch.features.items()
    }
    assert len(split_batch(batch.utterance_mask, EVERY_LENGTH)) > 1
    results = {}
    for bucketed in (False, True):
        for role in roles:
            role.bucket_forward = bucketed
        model.zero_grad(set_to_none=True)
        step = run_step(
            model,
            batch,
            masker=ModalityMasker(model.student.modalities),
            schedule=parse_schedule("random"),
            seed=0,
            epoch=0,
            step=1,
        )
        step.loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results[bucketed] = (step.loss.detach(), step.logs, grads)
    (loss_p, logs_p, grads_p), (loss_b, logs_b, grads_b) = results[False], results[True]
    assert torch.allclose(loss_b, loss_p, atol=1e-12, rtol=1e-10)
    if framework != "pre":
        assert logs_b["distill_loss"] == pytest.approx(logs_p["distill_loss"], rel=1e-9)
        assert logs_p["distill_loss"] > 0
    assert grads_b.keys() == grads_p.keys()
    assert grads_p
    for name, grad in grads_p.items():
        assert torch.allclose(grads_b[name], grad, atol=1e-12, rtol=1e-8), name


def test_config_default_is_on_and_reaches_the_models(make_config, tiny_data) -> None:
    for value in (True, False):
        config = make_config() if value else make_config(bucket_forward=False)
        assert config.bucket_forward is value
        model = build_framework(
            config, tiny_data.modality_dims, tiny_data.out_dim, "classification"
        )
        assert model.teacher.bucket_forward is value
        assert model.student.bucket_forward is value
