"""Exact low-memory attention: queries processed in row blocks of `query_chunk`, so the
(B, H, L, L) logits, mask and softmax exist only as (B, H, chunk, L) at a time (issue 19).

Each query row's softmax depends on its own row alone, so the blocks give the same numbers as
one dense call (to float rounding). `query_chunk=None` (or L <= chunk) runs the dense call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from ecce import BiasedSelfAttention

# Query rows per attention block: at L = 3000 and 8 heads, a float32 block is 25 MB, not 288 MB.
QUERY_CHUNK = 256


def key_padding_rows(bias_rows: torch.Tensor, utterance_mask: torch.Tensor) -> torch.Tensor:
    """bias rows (B, H|1, C, L) with -inf on padded keys; a conversation without any valid key
    keeps every key (as ecce.to_sdpa_mask does), so no softmax row is all -inf."""
    keys = utterance_mask | ~utterance_mask.any(-1, keepdim=True)
    return bias_rows.masked_fill(~keys[:, None, None, :], float("-inf"))


def check_shapes(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    utterance_mask: torch.Tensor | None,
    dim: int,
    num_heads: int,
) -> None:
    """The dense path's checks: x (B, L, dim), bias (B, H|1, L, L), utterance_mask (B, L) bool."""
    if x.dim() != 3 or x.shape[-1] != dim:
        raise ValueError(f"x must have shape (B, L, {dim}), got {tuple(x.shape)}")
    batch, length, _ = x.shape
    expected = {(batch, h, length, length) for h in (1, num_heads)}
    if bias is not None and tuple(bias.shape) not in expected:
        raise ValueError(
            f"bias has shape {tuple(bias.shape)}, expected (B, H, L, L) with H in "
            f"(1, {num_heads}) = {sorted(expected)}"
        )
    if utterance_mask is not None and (
        tuple(utterance_mask.shape) != (batch, length) or utterance_mask.dtype != torch.bool
    ):
        raise ValueError(
            f"utterance_mask must be a bool tensor of shape {(batch, length)}, got "
            f"{utterance_mask.dtype} {tuple(utterance_mask.shape)}"
        )


class AttentionMixer(BiasedSelfAttention):
    """ecce's `BiasedSelfAttention` (same parameters and state dict) that attends in query
    blocks of `query_chunk` rows when the conversation is longer.

    `forward(x (B,L,D), bias (B,H|1,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`; the bias may be
    the dense ECCE bias: only row slices of it are read.
    """

    query_chunk: int | None = QUERY_CHUNK

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None = None,
        utterance_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        length = x.shape[1] if x.dim() == 3 else 0
        if self.causal or self.query_chunk is None or length <= self.query_chunk:
            return super().forward(x, bias, utterance_mask)
        check_shapes(x, bias, utterance_mask, self.dim, self.num_heads)
        q, k, v = rearrange(self.qkv(x), "b l (qkv h d) -> qkv b h l d", qkv=3, h=self.num_heads)
        drop = self.attn_drop if self.training else 0.0
        blocks = []
        for start in range(0, length, self.query_chunk):
            rows = slice(start, start + self.query_chunk)
            mask = None if bias is None else bias[:, :, rows].to(x.dtype)
            if utterance_mask is not None:
                if mask is None:
                    mask = x.new_zeros(x.shape[0], 1, q[:, :, rows].shape[2], length)
                mask = key_padding_rows(mask, utterance_mask)
            blocks.append(
                F.scaled_dot_product_attention(q[:, :, rows], k, v, attn_mask=mask, dropout_p=drop)
            )
        out = torch.cat(blocks, dim=2)
        return self.proj_drop(self.proj(rearrange(out, "b h l d -> b l (h d)")))
