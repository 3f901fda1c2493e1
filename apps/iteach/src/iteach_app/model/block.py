"""MetaFormer block: norm, token mixer (given as a class), residual; norm, MLP, residual."""

from __future__ import annotations

import torch
from timm.layers import DropPath, LayerNorm, Mlp
from torch import nn


class MetaFormerBlock(nn.Module):
    """One modality's block. `mixer_cls` is built as `mixer_cls(dim=, num_heads=, proj_drop=)`.

    `forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`.
    """

    def __init__(
        self,
        dim: int,
        mixer_cls: type[nn.Module],
        *,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        drop: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.mixer = mixer_cls(dim=dim, num_heads=num_heads, proj_drop=drop)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), drop=drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        x = x + self.drop_path1(self.mixer(self.norm1(x), bias, utterance_mask))
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return x
