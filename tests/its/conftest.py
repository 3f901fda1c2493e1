"""Small models that are not ours (built from torch.nn) for the its_distill tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


class Tagger(nn.Module):
    """Per-position classifier, (B, L, D_in) -> (B, L, C): Linear, nn.TransformerEncoder, Linear."""

    def __init__(self, d_in: int, width: int, depth: int, classes: int, nested: bool) -> None:
        super().__init__()
        self.embed = nn.Linear(d_in, width)
        layer = nn.TransformerEncoderLayer(
            width, nhead=2, dim_feedforward=2 * width, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=nested)
        self.head = nn.Linear(width, classes)

    def last_layers(self, count: int = 3) -> list[str]:
        """Paths of the last `count` encoder layers, nearest-the-output first."""
        depth = len(self.encoder.layers)
        return [f"encoder.layers.{i}" for i in range(depth - 1, depth - 1 - count, -1)]

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x), src_key_padding_mask=padding_mask))


@pytest.fixture
def make_tagger() -> Callable[..., Tagger]:
    """Factory: make_tagger(width, depth, *, d_in=6, classes=4, nested=False, seed=0)."""

    def make(
        width: int,
        depth: int,
        *,
        d_in: int = 6,
        classes: int = 4,
        nested: bool = False,
        seed: int = 0,
    ) -> Tagger:
        torch.manual_seed(seed)
        return Tagger(d_in, width, depth, classes, nested)

    return make


@pytest.fixture
def tagger_batch() -> dict[str, torch.Tensor]:
    """A padded batch: complete x (2, 5, 6), a copy with rows zeroed, masks and labels."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 6, generator=g)
    valid = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    missing = torch.tensor([[True, False, True, False, False], [False, True, False, True, True]])
    masked = x.masked_fill(missing[..., None], 0.0)
    labels = torch.randint(0, 4, (2, 5), generator=g).masked_fill(~valid, -100)
    return {"x": x, "masked": masked, "valid": valid, "missing": missing, "labels": labels}
