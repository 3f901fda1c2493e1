"""Shared fixtures for the ecce tests: random padded conversation batches."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

Batch = tuple[torch.Tensor, torch.Tensor]


def random_batch(
    batch: int,
    length: int,
    dim: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    holes: bool = False,
) -> Batch:
    """x (B, L, D) with garbage (large values) on padding, and a (B, L) mask.

    Conversation 0 is full length; the others get a random length (possibly 0). With ``holes``
    the mask is random rather than a prefix.
    """
    x = torch.randn(batch, length, dim, generator=generator, dtype=dtype)
    if holes:
        mask = torch.rand(batch, length, generator=generator) < 0.7
    else:
        lengths = torch.randint(0, length + 1, (batch,), generator=generator)
        mask = torch.arange(length)[None, :] < lengths[:, None]
    mask[0] = True
    garbage = 1e3 * torch.randn(batch, length, dim, generator=generator, dtype=dtype)
    return torch.where(mask[..., None], x, garbage), mask


@pytest.fixture
def make_batch() -> Callable[..., Batch]:
    """Factory: make_batch(B, L, D, generator=..., dtype=..., holes=...) -> (x, mask)."""
    return random_batch
