"""Masked attention shared by the self-attention mixer and the cross-modal fusion."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_valid: torch.Tensor,
    bias: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Attention of q (B,H,L,d) over k, v (B,H,S,d) where only key_valid (B,S) keys count.

    `bias` (B|1, H|1, L, S) is added to the logits. A query with no valid key gets a zero
    output (never NaN): its logits are filled with the dtype's minimum, not -inf, and the
    resulting uniform average is multiplied away.
    """
    batch, _, length, _ = q.shape
    invalid = ~key_valid[:, None, None, :]
    logits_mask = q.new_zeros(batch, 1, length, k.shape[-2]) if bias is None else bias.to(q.dtype)
    logits_mask = logits_mask.masked_fill(invalid, torch.finfo(q.dtype).min)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=logits_mask, dropout_p=dropout_p)
    has_key = key_valid.any(dim=-1).to(q.dtype)
    return out * has_key[:, None, None, None]
