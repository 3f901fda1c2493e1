"""ECCE equals the paper's Algorithm 1 (ecce.reference.algorithm1), values and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ecce import ECCE, algorithm1

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def _model(dim: int, heads: int, gen: torch.Generator, dtype: torch.dtype, **kwargs) -> ECCE:
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    hidden = int(torch.randint(1, 6, (1,), generator=gen))
    return ECCE(dim, heads, hidden_dim=hidden, **kwargs).to(dtype)


def _reference(model: ECCE, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return algorithm1(
        x, model.local, model.proj, model.max_distance, mask, model.pooling, model.causal
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("max_distance", [1, 5, 30, "beyond"])
@pytest.mark.parametrize("window", [1, 3, 7])
@pytest.mark.parametrize("length", [1, 2, 7, 31])
def test_mean_matches_algorithm1(make_batch, length, window, max_distance, dtype) -> None:
    gen = torch.Generator().manual_seed(length * 100 + window * 10 + len(str(max_distance)))
    batch, dim, heads = (int(torch.randint(1, 5, (1,), generator=gen)) for _ in range(3))
    distance = length + 4 if max_distance == "beyond" else max_distance
    model = _model(dim, heads, gen, dtype, window=window, max_distance=distance)
    x, mask = make_batch(batch, length, dim, generator=gen, dtype=dtype)
    with torch.no_grad():
        fast, slow = model(x, mask), _reference(model, x, mask)
    assert fast.shape == (batch, heads, length, length)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, slow, atol=TOLERANCE[dtype], rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("max_distance", [1, 5, "beyond"])
@pytest.mark.parametrize(("pooling", "causal"), [("max", False), ("mean", True), ("max", True)])
@pytest.mark.parametrize(("length", "window"), [(1, 3), (7, 1), (7, 7), (31, 3)])
def test_variants_match_algorithm1(
    make_batch, length, window, pooling, causal, max_distance, dtype
) -> None:
    gen = torch.Generator().manual_seed(7 * length + window + 3 * causal)
    batch, dim, heads = 3, int(torch.randint(1, 6, (1,), generator=gen)), 2
    distance = length + 4 if max_distance == "beyond" else max_distance
    model = _model(
        dim, heads, gen, dtype, window=window, max_distance=distance, pooling=pooling, causal=causal
    )
    x, mask = make_batch(batch, length, dim, generator=gen, dtype=dtype)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, mask), _reference(model, x, mask), atol=TOLERANCE[dtype], rtol=0
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("pooling", "causal", "window", "max_distance"),
    [("mean", False, 7, 30), ("max", True, 3, 5), ("mean", True, 1, 200)],
)
def test_long_conversations_match_algorithm1(
    make_batch, pooling, causal, window, max_distance, dtype
) -> None:
    gen = torch.Generator().manual_seed(110)
    model = _model(
        4, 3, gen, dtype, window=window, max_distance=max_distance, pooling=pooling, causal=causal
    )
    x, mask = make_batch(2, 110, 4, generator=gen, dtype=dtype)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, mask), _reference(model, x, mask), atol=TOLERANCE[dtype], rtol=0
        )


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_masks_with_holes_match_algorithm1(make_batch, pooling) -> None:
    gen = torch.Generator().manual_seed(5)
    model = _model(3, 2, gen, torch.float64, window=3, max_distance=4, pooling=pooling)
    x, mask = make_batch(3, 12, 3, generator=gen, dtype=torch.float64, holes=True)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mask), _reference(model, x, mask), atol=1e-10, rtol=0)


def test_identity_local_and_no_mask_match_algorithm1() -> None:
    gen = torch.Generator().manual_seed(3)
    model = ECCE(6, 4, local=nn.Identity(), max_distance=3).double()
    x = torch.randn(2, 9, 6, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), _reference(model, x, None), atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    ("pooling", "causal", "max_distance"),
    [("mean", False, 3), ("mean", True, 20), ("max", False, 4), ("max", True, 2)],
)
def test_gradients_match_algorithm1(make_batch, pooling, causal, max_distance) -> None:
    gen = torch.Generator().manual_seed(11)
    model = _model(
        3,
        2,
        gen,
        torch.float64,
        window=3,
        max_distance=max_distance,
        pooling=pooling,
        causal=causal,
    )
    x, mask = make_batch(3, 8, 3, generator=gen, dtype=torch.float64)
    weight = torch.randn(3, 2, 8, 8, generator=gen, dtype=torch.float64)
    grads = []
    for fn in (model, lambda x, m: _reference(model, x, m)):
        x_ = x.clone().requires_grad_()
        model.zero_grad()
        (fn(x_, mask) * weight).sum().backward()
        grads.append([x_.grad] + [p.grad.clone() for p in model.parameters()])
    for fast, slow in zip(*grads, strict=True):
        torch.testing.assert_close(fast, slow, atol=1e-10, rtol=0)


@pytest.mark.parametrize(("pooling", "causal"), [("mean", False), ("mean", True), ("max", False)])
def test_gradcheck(make_batch, pooling, causal) -> None:
    gen = torch.Generator().manual_seed(2)
    model = ECCE(3, 2, window=3, max_distance=3, pooling=pooling, causal=causal).double()
    x, mask = make_batch(2, 6, 3, generator=gen, dtype=torch.float64)
    x.requires_grad_()
    weights = (model.proj.weight, model.proj.bias, model.local.conv.weight)
    assert torch.autograd.gradcheck(lambda x, *_: model(x, mask), (x, *weights), fast_mode=True)
    if pooling == "mean":
        assert torch.autograd.gradgradcheck(
            lambda x, *_: model(x, mask), (x, *weights), fast_mode=True
        )
