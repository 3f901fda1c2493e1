"""Token mixers and masked attention against plain reference loops, with padding, in float32/64."""

from __future__ import annotations

import math

import pytest
import torch

from iteach_app.model import (
    AttentionMixer,
    AvgPoolMixer,
    CrossAttention,
    MaxPoolMixer,
    NASMixer,
    UtteranceMlpMixer,
)
from iteach_app.model.layers.masking import masked_attention

DTYPES = [torch.float32, torch.float64]


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"atol": 1e-5, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 1e-10, "rtol": 1e-9}


def _batch(seed: int, dtype: torch.dtype, lengths=(6, 3, 1), dim: int = 8):
    gen = torch.Generator().manual_seed(seed)
    length = max(lengths)
    x = torch.randn(len(lengths), length, dim, generator=gen, dtype=dtype)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    return x, mask


def _window_reference(x, mask, kernel, reduce, subtract_input=False):
    """pool(x) (or pool(x) - x) over valid neighbours, by hand; zeros on padding."""
    out = torch.zeros_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            if not mask[b, i]:
                continue
            lo, hi = max(0, i - kernel // 2), min(x.shape[1], i + kernel // 2 + 1)
            rows = [x[b, j] for j in range(lo, hi) if mask[b, j]]
            out[b, i] = reduce(torch.stack(rows)) - (x[b, i] if subtract_input else 0)
    return out


@pytest.mark.parametrize("subtract_input", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_avg_pool_matches_reference(dtype: torch.dtype, kernel: int, subtract_input: bool) -> None:
    x, mask = _batch(kernel, dtype)
    mixer = AvgPoolMixer(8, kernel_size=kernel, subtract_input=subtract_input).to(dtype)
    got = mixer(x, None, mask)
    want = _window_reference(x, mask, kernel, lambda rows: rows.mean(0), subtract_input)
    torch.testing.assert_close(got, want, **_tol(dtype))


@pytest.mark.parametrize("subtract_input", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_max_pool_matches_reference(dtype: torch.dtype, kernel: int, subtract_input: bool) -> None:
    x, mask = _batch(10 + kernel, dtype)
    x[~mask] = 1e6  # large padding values must never win the max
    mixer = MaxPoolMixer(8, kernel_size=kernel, subtract_input=subtract_input).to(dtype)
    got = mixer(x, None, mask)
    want = _window_reference(x, mask, kernel, lambda rows: rows.max(0).values, subtract_input)
    torch.testing.assert_close(got, want, **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_nas_routed_to_pooling_keeps_the_input_signal(dtype: torch.dtype) -> None:
    """Regression: with the router on a pooling candidate, a conversation of one repeated
    utterance mixes to that utterance, not to zero (the old `pool(x) - x` default erased it)."""
    utterance = torch.randn(8, generator=torch.Generator().manual_seed(4), dtype=dtype)
    x = utterance.expand(2, 5, 8).clone()
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    for pool_cls in (AvgPoolMixer, MaxPoolMixer):
        mixer = NASMixer(8, num_heads=2, candidates=(AttentionMixer, pool_cls)).to(dtype)
        with torch.no_grad():
            mixer.router.fc.weight.zero_()
            mixer.router.fc.bias.copy_(torch.tensor([-1e4, 1e4]))  # all weight on pooling
        got = mixer(x, None, mask)
        torch.testing.assert_close(got[mask], x[mask], **_tol(dtype))
        assert torch.all(got[~mask] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_utterance_mlp_matches_reference(dtype: torch.dtype) -> None:
    x, mask = _batch(3, dtype)
    x[~mask] = 123.0
    mixer = UtteranceMlpMixer(8, kernel_size=3).to(dtype)
    got = mixer(x, None, mask)
    weight, bias = mixer.window.weight, mixer.window.bias  # (hidden, D, 3)
    want = torch.zeros_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            if not mask[b, i]:
                continue
            hidden = bias.clone()
            for offset in range(3):
                j = i + offset - 1
                if 0 <= j < x.shape[1] and mask[b, j]:
                    hidden = hidden + weight[:, :, offset] @ x[b, j]
            want[b, i] = mixer.fc(torch.nn.functional.gelu(hidden))
    torch.testing.assert_close(got, want, **_tol(dtype))


def _attention_reference(q, k, v, key_valid, bias):
    """Softmax attention one query at a time; zero where a query has no valid key."""
    out = torch.zeros_like(q)
    scale = 1.0 / math.sqrt(q.shape[-1])
    for b in range(q.shape[0]):
        keys = key_valid[b].nonzero().flatten()
        if len(keys) == 0:
            continue
        for h in range(q.shape[1]):
            for i in range(q.shape[2]):
                logits = (k[b, h, keys] @ q[b, h, i]) * scale
                if bias is not None:
                    logits = logits + bias[b, h, i, keys]
                out[b, h, i] = logits.softmax(0) @ v[b, h, keys]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_masked_attention_matches_reference(dtype: torch.dtype, with_bias: bool) -> None:
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(3, 2, 5, 4, generator=gen, dtype=dtype) for _ in range(3))
    bias = torch.randn(3, 2, 5, 5, generator=gen, dtype=dtype) if with_bias else None
    key_valid = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 1, 1, 1]], dtype=torch.bool)
    got = masked_attention(q, k, v, key_valid, bias=bias)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, _attention_reference(q, k, v, key_valid, bias), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_mixer_ignores_padded_keys(dtype: torch.dtype) -> None:
    x, mask = _batch(7, dtype, dim=8)
    mixer = AttentionMixer(8, num_heads=2).to(dtype)
    bias = torch.randn(3, 2, 6, 6, dtype=dtype)
    before = mixer(x, bias, mask)
    x2 = torch.where(mask[..., None], x, torch.full_like(x, 50.0))
    bias2 = bias.masked_fill(~mask[:, None, None, :], 9.0)
    after = mixer(x2, bias2, mask)
    torch.testing.assert_close(before[mask], after[mask], **_tol(dtype))


def test_cross_attention_query_without_keys_gets_zero_update() -> None:
    attn = CrossAttention(8, num_heads=2)
    query, context = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    key_valid = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    out = attn(query, context, key_valid)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1], attn.proj.bias.expand(4, 8))


def test_router_weights_sum_to_one_per_utterance() -> None:
    x, mask = _batch(9, torch.float32, dim=8)
    mixer = NASMixer(8, num_heads=2)
    out = mixer(x, None, mask)
    assert out.shape == x.shape
    weights = mixer.last_weights
    assert weights.shape == (*x.shape[:2], 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(x.shape[:2]))
    assert (weights > 0).all()


def test_nas_mixer_is_router_weighted_sum_of_candidates() -> None:
    x, mask = _batch(11, torch.float64, dim=8)
    mixer = NASMixer(8, num_heads=2).double()
    bias = torch.randn(3, 2, 6, 6, dtype=torch.float64)
    got = mixer(x, bias, mask)
    weights = mixer.router(x)
    want = sum(weights[..., c, None] * m(x, bias, mask) for c, m in enumerate(mixer.candidates))
    torch.testing.assert_close(got, want)


def test_pooling_rejects_even_kernel() -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        AvgPoolMixer(8, kernel_size=2)
