"""span_mean_band against a plain loop over pairs, for any window of offsets (negative,
positive, both), with padding, in float32 and float64, values and gradients."""

from __future__ import annotations

import pytest
import torch

from ecce.spans import span_mean_band


def _loop(p: torch.Tensor, mask: torch.Tensor, first: int, count: int) -> torch.Tensor:
    batch, length, channels = p.shape
    out = torch.zeros(batch, length, count, channels, dtype=p.dtype)
    for b in range(batch):
        for r in range(length):
            for e in range(count):
                c = r + first + e
                if not (0 <= c < length and mask[b, r] and mask[b, c]):
                    continue
                lo, hi = min(r, c), max(r, c)
                real = mask[b, lo : hi + 1]
                out[b, r, e] = p[b, lo : hi + 1][real].mean(0)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("first", "count"), [(-3, 7), (-4, 5), (0, 4), (-2, 2), (1, 3), (-9, 19)])
def test_span_mean_band_matches_the_pair_loop(dtype, first: int, count: int) -> None:
    gen = torch.Generator().manual_seed(count - first)
    lengths = torch.tensor([7, 3, 5, 1])
    mask = torch.arange(7)[None, :] < lengths[:, None]
    mask[2, 1] = False  # a hole inside a conversation: left out of every span mean
    p = torch.randn(4, 7, 3, generator=gen, dtype=dtype, requires_grad=True)
    fast, slow = span_mean_band(p, mask, first, count), _loop(p, mask, first, count)
    tolerance = {"atol": 1e-6, "rtol": 1e-5} if dtype == torch.float32 else {}
    torch.testing.assert_close(fast, slow, **tolerance)
    weights = torch.randn(fast.shape, generator=gen, dtype=dtype)
    (grad,) = torch.autograd.grad((fast * weights).sum(), p)
    (expected,) = torch.autograd.grad((slow * weights).sum(), p)
    torch.testing.assert_close(grad, expected, **tolerance)
