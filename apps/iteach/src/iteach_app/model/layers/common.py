"""The three small generic layers the blocks share: LayerNorm, Mlp, DropPath.

Written here rather than imported from timm so that installing the app never pulls timm and
torchvision (whose newest release pins the newest torch and would replace a user's torch). The
attribute names (`fc1`, `act`, `drop1`, `fc2`, `drop2`) and defaults (LayerNorm eps 1e-6, GELU,
per-sample stochastic depth scaled by the keep probability) are those of the timm layers the
model used before, so state dicts and checkpoints saved then load unchanged, and a seeded run
draws the same random numbers in the same order.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm(nn.LayerNorm):
    """`nn.LayerNorm` over the last dimension with eps 1e-6 (the transformer convention)."""

    def __init__(self, num_channels: int, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)


class Mlp(nn.Module):
    """Two linear layers with GELU between: `(..., in) -> (..., hidden) -> (..., out)`.

    `drop` is applied after the activation and after the second layer (as plain `nn.Dropout`s,
    so `FastDropout` can replace them).
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        *,
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: in training, zero a whole sample's residual branch with probability
    `drop_prob` and scale the kept ones by `1 / (1 - drop_prob)`; the identity in eval mode.

    `forward(x (N, ...)) -> (N, ...)`; one Bernoulli draw per leading index.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        kept = x.new_empty(shape).bernoulli_(keep)
        if keep > 0.0:
            kept.div_(keep)
        return x * kept

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"
