"""Masked attention shared by the self-attention mixer and the cross-modal fusion."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iteach_app.model.layers.chunked import query_blocks


def masked_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_valid: torch.Tensor,
    bias: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    query_chunk: int | None = None,
) -> torch.Tensor:
    """Attention of q (B,H,L,d) over k, v (B,H,S,d) where only key_valid (B,S) keys count.

    `bias` (B|1, H|1, L, S) is added to the logits. A query with no valid key gets a zero
    output (never NaN): its logits are filled with the dtype's minimum, not -inf, and the
    resulting uniform average is multiplied away. `query_chunk`: attend in blocks of that many
    query rows (the same numbers, (B,H,chunk,S) logits instead of (B,H,L,S)).
    """
    batch, _, length, _ = q.shape
    if bool(key_valid.all()) and (query_chunk is None or length <= query_chunk):
        mask = None if bias is None else bias.to(q.dtype)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    invalid = ~key_valid[:, None, None, :]
    blocks = []
    for rows in query_blocks(length, query_chunk):
        q_rows = q[:, :, rows]
        logits_mask = (
            q.new_zeros(batch, 1, q_rows.shape[2], k.shape[-2])
            if bias is None
            else bias[:, :, rows].to(q.dtype)
        )
        logits_mask = logits_mask.masked_fill(invalid, torch.finfo(q.dtype).min)
        blocks.append(
            F.scaled_dot_product_attention(q_rows, k, v, attn_mask=logits_mask, dropout_p=dropout_p)
        )
    out = blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=2)
    has_key = key_valid.any(dim=-1).to(q.dtype)
    return out * has_key[:, None, None, None]
