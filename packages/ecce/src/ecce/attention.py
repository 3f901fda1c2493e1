"""Multi-head self-attention that takes an additive (B, H, L, L) bias, on top of SDPA."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecce._checks import check_features, check_mask, check_positive_int
from ecce.adapters import to_sdpa_mask


class BiasedSelfAttention(nn.Module):
    """Self-attention over utterances with an attention bias: (B, L, D) -> (B, L, D).

    Same parameters as ``nn.MultiheadAttention`` (``qkv`` stacks its q, k, v projections, ``proj``
    is its out_proj), run through ``F.scaled_dot_product_attention``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}")
        self.head_dim = dim // num_heads
        self.causal = causal
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None = None,
        utterance_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (B, L, D), bias (B, H or 1, L, L) or None, utterance_mask (B, L) bool -> (B, L, D)."""
        check_features(x, self.dim)
        q, k, v = self._heads(x)
        attn_mask = self._attn_mask(x, bias, utterance_mask)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_drop if self.training else 0.0
        )
        return self._merge(out)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, L, D) -> q, k, v, each (B, H, L, D / H)."""
        batch, length, _ = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        return q, k, v

    def _merge(self, out: torch.Tensor) -> torch.Tensor:
        """Attention output (B, H, L, D / H) -> heads joined, projected, dropped: (B, L, D)."""
        batch, _, length, _ = out.shape
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(batch, length, self.dim)))

    def _attn_mask(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor | None
    ) -> torch.Tensor | None:
        """The float mask SDPA adds to the logits, or None when there is nothing to add."""
        batch, length, _ = x.shape
        if bias is None:
            if utterance_mask is None and not self.causal:
                return None
            bias = x.new_zeros(batch, 1, length, length)
        expected = {(batch, h, length, length) for h in (1, self.num_heads)}
        if tuple(bias.shape) not in expected:
            raise ValueError(
                f"bias has shape {tuple(bias.shape)}, expected (B, H, L, L) with H in "
                f"(1, {self.num_heads}) = {sorted(expected)}"
            )
        if utterance_mask is not None:
            check_mask(utterance_mask, batch, length, x.device)
        return to_sdpa_mask(bias.to(x.dtype), utterance_mask, causal=self.causal)
