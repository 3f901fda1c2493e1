"""Streaming: each step's row equals the offline causal ECCE's row, with bounded state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ecce import ECCE


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("pooling", "window", "max_distance"),
    [("mean", 7, 30), ("mean", 3, 1), ("mean", 1, 4), ("max", 3, 5)],
)
def test_steps_equal_offline_causal_rows(pooling, window, max_distance, dtype) -> None:
    torch.manual_seed(0)
    model = ECCE(5, 3, window=window, max_distance=max_distance, pooling=pooling, causal=True)
    model = model.to(dtype)
    x = torch.randn(2, 40, 5, dtype=dtype, generator=torch.Generator().manual_seed(1))
    offline = model(x)
    band_stream, full_stream = model.stream(), model.stream()
    tolerance = 1e-5 if dtype == torch.float32 else 1e-10
    for t in range(40):
        band = band_stream.step(x[:, t])
        full = full_stream.step(x[:, t], full=True)
        n = min(t + 1, max_distance)
        assert band.shape == (2, 3, n)
        assert full.shape == (2, 3, t + 1)
        torch.testing.assert_close(
            band, offline[:, :, t, t + 1 - n : t + 1], atol=tolerance, rtol=0
        )
        torch.testing.assert_close(full, offline[:, :, t, : t + 1], atol=tolerance, rtol=0)
        assert band_stream._history.shape[1] <= max_distance
        assert band_stream._recent.shape[1] == window
    torch.testing.assert_close(band_stream.far_value, model.proj.bias)


def test_custom_causal_local_streams() -> None:
    torch.manual_seed(0)
    model = ECCE(4, 2, window=1, max_distance=6, local=nn.Linear(4, 4), causal=True)
    x = torch.randn(1, 10, 4)
    offline = model(x)
    stream = model.stream()
    for t in range(10):
        torch.testing.assert_close(stream.step(x[:, t], full=True), offline[:, :, t, : t + 1])


def test_stream_gradients_flow_to_the_parameters() -> None:
    model = ECCE(3, 2, window=2, max_distance=3, causal=True)
    stream = model.stream()
    total = sum(stream.step(torch.randn(1, 3)).sum() for _ in range(5))
    total.backward()
    assert model.proj.weight.grad is not None
    assert model.local.conv.weight.grad.abs().sum() > 0
