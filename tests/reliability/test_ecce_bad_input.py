"""ECCE under input a careful user gets wrong: NaN features and float64 tensors."""

from __future__ import annotations

import pytest
import torch

from ecce import ECCE, algorithm1


def _batch(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 9, 8, generator=g, dtype=dtype)
    return x, torch.arange(9) < torch.tensor([[9], [6]])


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_feature_on_a_real_utterance_is_named(value: float) -> None:
    x, mask = _batch()
    x[1, 4, 3] = value
    with pytest.raises(ValueError, match="conversation 1, utterance 4"):
        ECCE(8, num_heads=2)(x, mask)


def test_non_finite_feature_on_padding_is_ignored() -> None:
    x, mask = _batch()
    ecce = ECCE(8, num_heads=2)
    clean = ecce(x, mask)
    x[1, 7] = float("nan")  # utterance 7 of conversation 1 is padding
    bias = ecce(x, mask)
    assert torch.isfinite(bias).all()
    torch.testing.assert_close(bias, clean)


def test_streaming_step_refuses_a_nan_utterance() -> None:
    stream = ECCE(8, num_heads=2, causal=True).stream()
    stream.step(torch.randn(2, 8))
    bad = torch.randn(2, 8)
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="conversation 1 at utterance 1"):
        stream.step(bad)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_float64_input_to_a_float32_module_works(pooling: str) -> None:
    x64, mask = _batch(torch.float64)
    ecce = ECCE(8, num_heads=2, pooling=pooling)
    bias = ecce(x64, mask)
    assert bias.dtype == torch.float64
    torch.testing.assert_close(bias, ecce(x64.float(), mask).double())


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_float64_module_matches_the_reference_loop(pooling: str) -> None:
    x64, mask = _batch(torch.float64)
    ecce = ECCE(8, num_heads=2, pooling=pooling, max_distance=4).double()
    expected = algorithm1(
        x64, ecce.local, ecce.proj, 4, utterance_mask=mask, pooling=pooling, causal=False
    )
    torch.testing.assert_close(ecce(x64, mask), expected, rtol=1e-10, atol=1e-10)
    assert ecce(x64.float(), mask).dtype == torch.float32


def test_float64_streaming_matches_offline() -> None:
    x64, _ = _batch(torch.float64)
    ecce = ECCE(8, num_heads=2, causal=True, max_distance=4)
    stream = ecce.stream()
    rows = [stream.step(x64[:, t], full=True) for t in range(9)]
    assert rows[-1].dtype == torch.float64
    torch.testing.assert_close(rows[-1], ecce(x64)[:, :, 8])
