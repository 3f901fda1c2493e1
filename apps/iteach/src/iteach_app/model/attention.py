"""Self-attention token mixer guided by an ECCE bias."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from iteach_app.model.masking import masked_attention


class AttentionMixer(nn.Module):
    """Multi-head self-attention over the utterances of a conversation.

    `forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`: the bias
    (ECCE's) is added to the attention logits; padded keys are masked out.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        q, k, v = rearrange(
            self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.num_heads
        )
        drop = self.attn_drop if self.training else 0.0
        out = masked_attention(q, k, v, utterance_mask, bias=bias, dropout_p=drop)
        return self.proj_drop(self.proj(rearrange(out, "b h l d -> b l (h d)")))
