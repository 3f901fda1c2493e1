"""Bad input gets a clear error that names the argument and the shape or value at fault."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from ecce import ECCE, BiasedSelfAttention, as_score_mod, to_mha_mask, to_sdpa_mask


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_distance": 0}, "max_distance must be an integer >= 1, got 0"),
        ({"max_distance": -3}, "max_distance must be an integer >= 1, got -3"),
        ({"max_distance": 2.5}, "max_distance must be an integer >= 1, got 2.5"),
        ({"window": 0}, "window must be an integer >= 1, got 0"),
        ({"num_heads": 0}, "num_heads must be an integer >= 1, got 0"),
        ({"hidden_dim": 0}, "hidden_dim must be an integer >= 1, got 0"),
        ({"pooling": "sum"}, "pooling must be one of ('mean', 'max'), got 'sum'"),
    ],
)
def test_bad_construction(kwargs, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ECCE(4, **kwargs)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.randn(5, 4), r"x must have shape \(B, L, D\), got \(5, 4\)"),
        (torch.randn(1, 2, 5, 4), r"x must have shape \(B, L, D\), got \(1, 2, 5, 4\)"),
        (torch.randn(2, 5, 3), "x has feature size D=3, expected 4"),
    ],
)
def test_bad_features(x, message) -> None:
    with pytest.raises(ValueError, match=message):
        ECCE(4)(x)


def test_integer_features_are_refused() -> None:
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        ECCE(4)(torch.ones(2, 5, 4, dtype=torch.long))


def test_bad_masks() -> None:
    x = torch.randn(2, 5, 4)
    with pytest.raises(ValueError, match=r"utterance_mask has shape \(2, 6\), expected \(B, L\)"):
        ECCE(4)(x, torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"utterance_mask has shape \(5,\)"):
        ECCE(4)(x, torch.ones(5, dtype=torch.bool))
    with pytest.raises(
        TypeError, match=r"utterance_mask must be a bool tensor, got torch\.float32"
    ):
        ECCE(4)(x, torch.ones(2, 5))


def test_local_with_the_wrong_output() -> None:
    with pytest.raises(ValueError, match=r"local returned \(2, 5, 3\), expected .* \(2, 5, 4\)"):
        ECCE(4, local=nn.Linear(4, 3))(torch.randn(2, 5, 4))


def test_bad_bias_for_adapters() -> None:
    with pytest.raises(ValueError, match=r"bias must have shape \(B, H, L, L\), got \(2, 5, 5\)"):
        to_sdpa_mask(torch.randn(2, 5, 5))
    with pytest.raises(
        ValueError, match=r"bias must have shape \(B, H, L, L\), got \(2, 1, 5, 4\)"
    ):
        to_mha_mask(torch.randn(2, 1, 5, 4))
    with pytest.raises(ValueError, match=r"utterance_mask has shape \(2, 4\)"):
        as_score_mod(torch.randn(2, 1, 5, 5), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="bias has 3 heads, cannot repeat it to num_heads=2"):
        to_mha_mask(torch.randn(2, 3, 5, 5), num_heads=2)


def test_bad_attention_arguments() -> None:
    with pytest.raises(ValueError, match="dim=10 is not divisible by num_heads=4"):
        BiasedSelfAttention(10, 4)
    attention = BiasedSelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"bias has shape \(2, 3, 5, 5\), expected \(B, H, L, L\)"):
        attention(torch.randn(2, 5, 8), torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(B, L, D\), got \(5, 8\)"):
        attention(torch.randn(5, 8))


def test_bad_streaming_use() -> None:
    with pytest.raises(ValueError, match=r"streaming needs ECCE\(..., causal=True\)"):
        ECCE(4).stream()
    stream = ECCE(4, causal=True).stream()
    with pytest.raises(
        ValueError, match=r"step expects one utterance per conversation, \(B, D=4\)"
    ):
        stream.step(torch.randn(2, 3, 4))
    stream.step(torch.randn(2, 4))
    with pytest.raises(ValueError, match="step got a batch of 3, this stream holds 2"):
        stream.step(torch.randn(3, 4))
