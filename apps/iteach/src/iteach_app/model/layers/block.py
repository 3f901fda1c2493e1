"""MetaFormer block (norm, token mixer given as a class, residual; norm, MLP, residual) and the
encoder layer: one block per modality, then cross-modal fusion into the query modality."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from iteach_app.model.layers.common import DropPath, LayerNorm, Mlp
from iteach_app.model.layers.fusion import CrossModalFusion
from iteach_app.model.layers.packing import pack, real_rows, unpack


class MetaFormerBlock(nn.Module):
    """One modality's block. `mixer_cls` is built as `mixer_cls(dim=, num_heads=, proj_drop=)`.

    `forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`. The MLP runs
    on the real utterances only; a padded row keeps the mixer's residual (never read downstream).
    `causal`: the mixer is built with `causal=True` (a mixer class for a causal model takes it).
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
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        past_only = {"causal": True} if causal else {}
        self.mixer = mixer_cls(dim=dim, num_heads=num_heads, proj_drop=drop, **past_only)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), drop=drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        x = x + self.drop_path1(self.mixer(self.norm1(x), bias, utterance_mask))
        rows = real_rows(utterance_mask)
        update = self.mlp(self.norm2(pack(x, rows)))
        return x + self.drop_path2(unpack(update, rows, *utterance_mask.shape))


class EncoderLayer(nn.Module):
    """Blocks per modality (`blocks[name]`), then `fusion` of the others into `modalities[0]`.

    `forward(states {name: (B,L,D)}, biases {name: (B,H,L,L) | None}, utterance_mask (B,L),
    key_valid {name: (B,L) bool}) -> states`, the query modality's state replaced by the fused one.
    `causal`: past-only mixers and fusion, so utterance i depends on utterances 0 .. i only.
    """

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        mixer_cls: type[nn.Module],
        *,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        cross_attn_ratio: float = 0.5,
        drop: float = 0.0,
        drop_path: float = 0.0,
        gated_fusion: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.blocks = nn.ModuleDict(
            {
                name: MetaFormerBlock(
                    dim,
                    mixer_cls,
                    num_heads=num_heads,
                    mlp_ratio=mlp_ratio,
                    drop=drop,
                    drop_path=drop_path,
                    causal=causal,
                )
                for name in self.modalities
            }
        )
        self.fusion = CrossModalFusion(
            dim,
            self.modalities[1:],
            num_heads,
            attn_ratio=cross_attn_ratio,
            drop=drop,
            drop_path=drop_path,
            gated_fusion=gated_fusion,
            causal=causal,
        )

    def forward(
        self,
        states: Mapping[str, torch.Tensor],
        biases: Mapping[str, torch.Tensor | None],
        utterance_mask: torch.Tensor,
        key_valid: Mapping[str, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        out = {
            name: self.blocks[name](states[name], biases.get(name), utterance_mask)
            for name in self.modalities
        }
        query = self.modalities[0]
        out[query] = self.fusion(out[query], out, key_valid)
        return out
