"""Exact low-memory attention: queries processed in row blocks of `query_chunk`, so the
(B, H, L, L) logits, mask and softmax exist only as (B, H, chunk, L) at a time: their memory
grows linearly with the conversation length L instead of with its square.

Each query row's softmax depends on its own row alone, so the blocks give the same numbers as
one dense call (to float rounding). `query_chunk=None` (or L <= chunk) runs one block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ecce import BiasedSelfAttention

# Query rows per attention block: at L = 3000 and 8 heads, a float32 block is 25 MB, not 288 MB.
QUERY_CHUNK = 256


def query_blocks(length: int, query_chunk: int | None) -> list[tuple[int, slice]]:
    """(first row, row slice) of each query block: every row at once for ``query_chunk=None``,
    without reading ``length`` (so a symbolic length, as in the ONNX export, stays symbolic)."""
    if query_chunk is None:
        return [(0, slice(None))]
    step = max(1, query_chunk)
    return [(start, slice(start, start + step)) for start in range(0, max(length, 1), step)]


def key_padding_rows(bias_rows: torch.Tensor, utterance_mask: torch.Tensor) -> torch.Tensor:
    """bias rows (B, H|1, C, L) with -inf on padded keys; a conversation without any valid key
    keeps every key (as ecce.to_sdpa_mask does), so no softmax row is all -inf."""
    keys = utterance_mask | ~utterance_mask.any(-1, keepdim=True)
    return bias_rows.masked_fill(~keys[:, None, None, :], float("-inf"))


def future_keys_rows(bias_rows: torch.Tensor, first_row: int) -> torch.Tensor:
    """bias rows (B, H|1, C, L) of queries first_row .. first_row + C - 1 with -inf on each
    query's later keys (causal attention); a query always keeps itself, so no row is all -inf."""
    rows = torch.arange(first_row, first_row + bias_rows.shape[2], device=bias_rows.device)
    later = torch.arange(bias_rows.shape[3], device=bias_rows.device)[None, :] > rows[:, None]
    return bias_rows.masked_fill(later, float("-inf"))


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
    expected = [(batch, h, length, length) for h in (1, num_heads)]  # a list: sizes may be symbolic
    if bias is not None and tuple(bias.shape) not in expected:
        raise ValueError(
            f"bias has shape {tuple(bias.shape)}, expected (B, H, L, L) with H in "
            f"(1, {num_heads}) = {expected}"
        )
    if utterance_mask is not None and (
        tuple(utterance_mask.shape) != (batch, length) or utterance_mask.dtype != torch.bool
    ):
        raise ValueError(
            f"utterance_mask must be a bool tensor of shape {(batch, length)}, got "
            f"{utterance_mask.dtype} {tuple(utterance_mask.shape)}"
        )


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, dropout_p: float
) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + mask) v for q (B,H,C,d), k, v (B,H,L,d), mask (B,H|1,C,L).

    A mask that needs a gradient (a learned bias, as ECCE's) sends SDPA to its math path on
    CPU; there one `baddbmm` adds the mask inside the product, without SDPA's scaled copies of q
    and k and its guarded softmax (which only matters for rows of -inf, never given here), so
    it costs less (benchmarks/speed_bench.py). Elsewhere SDPA as is.
    """
    if mask is None or not mask.requires_grad or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    batch, heads, rows, width = q.shape
    keys = k.shape[2]
    logits = torch.baddbmm(
        mask.expand(batch, heads, rows, keys).reshape(batch * heads, rows, keys),
        q.reshape(batch * heads, rows, width),
        k.reshape(batch * heads, keys, width).transpose(1, 2),
        alpha=width**-0.5,
    )
    weights = F.dropout(logits.softmax(-1), dropout_p, training=dropout_p > 0)
    return torch.bmm(weights, v.reshape(batch * heads, keys, width)).view(batch, heads, rows, width)


class AttentionMixer(BiasedSelfAttention):
    """ecce's `BiasedSelfAttention` (same parameters and state dict) that attends in query
    blocks of `query_chunk` rows when the conversation is longer.

    `forward(x (B,L,D), bias (B,H|1,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`; the bias may be
    the dense ECCE bias: only row slices of it are read. `keys_in_bias` (set by ITEACHNet, whose
    biases already hold -inf on padded keys, folded once per forward instead of once per layer):
    a given bias is used as it is, the mask only where there is no bias. `causal`: each query
    block also masks its later keys.
    """

    query_chunk: int | None = QUERY_CHUNK
    keys_in_bias: bool = False

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None = None,
        utterance_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        length = x.shape[1] if x.dim() == 3 else 0
        if length == 0:
            return super().forward(x, bias, utterance_mask)
        check_shapes(x, bias, utterance_mask, self.dim, self.num_heads)
        batch = x.shape[0]
        q, k, v = self._heads(x)
        drop = self.attn_drop if self.training else 0.0
        keys = None if utterance_mask is None or bool(utterance_mask.all()) else utterance_mask
        if self.keys_in_bias and bias is not None:
            keys = None
        blocks = []
        for start, rows in query_blocks(length, self.query_chunk):
            mask = None if bias is None else bias[:, :, rows].to(x.dtype)
            if keys is not None:
                if mask is None:
                    mask = x.new_zeros(batch, 1, q[:, :, rows].shape[2], length)
                mask = key_padding_rows(mask, keys)
            if self.causal:
                if mask is None:
                    mask = x.new_zeros(batch, 1, q[:, :, rows].shape[2], length)
                mask = future_keys_rows(mask, start)
            blocks.append(attend(q[:, :, rows], k, v, mask, drop))
        return self._merge(blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=2))
