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
    causal: bool = False,
) -> torch.Tensor:
    """Attention of q (B,H,L,d) over k, v (B,H,S,d) where only key_valid (B,S) keys count.

    `bias` (B|1, H|1, L, S) is added to the logits. A query with no valid key gets a zero
    output (never NaN): its logits are filled with the dtype's minimum, not -inf, and the
    resulting uniform average is multiplied away. `query_chunk`: attend in blocks of that many
    query rows (the same numbers, (B,H,chunk,S) logits instead of (B,H,L,S)). `causal` (S = L):
    query i reads keys 0 .. i only, and gets a zero output when none of those is valid.
    """
    batch, _, length, _ = q.shape
    if causal and k.shape[-2] != length:
        raise ValueError(f"causal attention needs as many keys as queries, got {k.shape[-2]}")
    if not causal and bool(key_valid.all()) and (query_chunk is None or length <= query_chunk):
        mask = None if bias is None else bias.to(q.dtype)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    invalid = ~key_valid[:, None, None, :]
    blocks = []
    for start, rows in query_blocks(length, query_chunk):
        q_rows = q[:, :, rows]
        logits_mask = (
            q.new_zeros(batch, 1, q_rows.shape[2], k.shape[-2])
            if bias is None
            else bias[:, :, rows].to(q.dtype)
        )
        hidden = invalid
        if causal:
            later = torch.arange(k.shape[-2], device=q.device) > torch.arange(
                start, start + q_rows.shape[2], device=q.device
            ).view(-1, 1)
            hidden = invalid | later
        logits_mask = logits_mask.masked_fill(hidden, torch.finfo(q.dtype).min)
        blocks.append(
            F.scaled_dot_product_attention(q_rows, k, v, attn_mask=logits_mask, dropout_p=dropout_p)
        )
    out = blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=2)
    if causal:  # (B,1,L,1): a valid key among 0 .. i
        return out * (key_valid.cumsum(-1) > 0).to(q.dtype)[:, None, :, None]
    has_key = key_valid.any(dim=-1).to(q.dtype)
    return out * has_key[:, None, None, None]
