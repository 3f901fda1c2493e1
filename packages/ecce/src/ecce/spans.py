"""Span pooling over utterance pairs, kept as a band, and its layout as the dense (L, L) bias.

Row r of a band holds the pairs (r, r + o) for the offsets o = o_min .. o_max: only pairs closer
than ``max_distance`` carry a value, so a band costs O(B * L * K) per channel (K ~ max_distance),
and ``band_to_dense`` writes it into the (L, L) matrix in one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def span_index(
    length: int, first_offset: int, num_offsets: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Span start lo, span end hi (both (L, O), clamped into 0 .. L-1) and in-range flags (L, O)."""
    rows = torch.arange(length, device=device)[:, None]
    offsets = torch.arange(first_offset, first_offset + num_offsets, device=device)
    cols = rows + offsets
    in_range = (cols >= 0) & (cols < length)
    cols = cols.clamp(0, length - 1)
    return torch.minimum(rows, cols), torch.maximum(rows, cols), in_range


def span_valid(
    utterance_mask: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, in_range: torch.Tensor
) -> torch.Tensor:
    """(B, L) bool -> (B, L, O) bool: the pair lies inside L and both its ends are real."""
    return in_range & utterance_mask[:, lo] & utterance_mask[:, hi]


def _offset_windows(x: torch.Tensor, length: int, first_offset: int, count: int) -> torch.Tensor:
    """x (B, T, ...) -> (B, length, ..., count) strided view with [b, r, ..., e] =
    x[b, r + first_offset + e], zeros (False) where that index falls outside x."""
    stop = length + first_offset + count - 1  # one past the last index read
    inner = x[:, max(first_offset, 0) : max(min(stop, x.shape[1]), 0)]
    left = min(max(-first_offset, 0), length + count - 1)
    right = length + count - 1 - left - inner.shape[1]
    pad = [0, 0] * (x.dim() - 2) + [left, right]
    if x.dtype == torch.bool:
        return F.pad(inner.to(torch.uint8), pad).bool().unfold(1, count, 1)
    return F.pad(inner, pad).unfold(1, count, 1)


def span_mean_band(
    p: torch.Tensor, utterance_mask: torch.Tensor, first_offset: int, num_offsets: int
) -> torch.Tensor:
    """Mean of p over the real utterances of each span: (B, L, C) -> (B, L, O, C), 0 where invalid.

    Prefix sums S, accumulated in float64 (for float32 and narrower inputs) so that long
    conversations lose no precision to the differences (a span's total, once taken, is small
    and goes back to p's dtype). The span of offset o >= 0 sums to
    S[r + o + 1] - S[r], that of o < 0 to S[r + 1] - S[r + o]: the shifted S are strided views
    (unfold), not gathers, so neither direction of autograd scatters.
    """
    acc = torch.float64 if p.dtype in (torch.float16, torch.bfloat16, torch.float32) else p.dtype
    real = utterance_mask.to(acc)
    sums = F.pad((p.to(acc) * real[..., None]).cumsum(1), (0, 0, 1, 0))  # (B, L+1, C)
    counts = F.pad(real.cumsum(1), (1, 0))[..., None]  # (B, L+1, 1)
    length = p.shape[1]
    split = min(max(-first_offset, 0), num_offsets)  # offsets below `split` are negative

    def span_totals(prefix: torch.Tensor) -> torch.Tensor:
        parts = []
        if split:
            parts.append(
                prefix[:, 1:, :, None] - _offset_windows(prefix, length, first_offset, split)
            )
        if split < num_offsets:
            after = _offset_windows(prefix, length, first_offset + split + 1, num_offsets - split)
            parts.append(after - prefix[:, :-1, :, None])
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]

    ends = F.pad(utterance_mask, (0, 1))[..., None]  # (B, L+1, 1): the mask, one pad row
    valid = (
        _offset_windows(ends, length, first_offset, num_offsets) & utterance_mask[..., None, None]
    )
    weight = torch.where(valid, span_totals(counts).clamp(min=1).reciprocal(), 0.0)
    mean = span_totals(sums).to(p.dtype) * weight.to(p.dtype)  # (B, L, C, O)
    return mean.transpose(-1, -2)


def span_max_band(
    z: torch.Tensor, utterance_mask: torch.Tensor, first_offset: int, num_offsets: int
) -> torch.Tensor:
    """Max of z over the real utterances of each span: (B, L, C) -> (B, L, O, C), 0 where invalid.

    A sparse table of maxima over windows of 2^k utterances (log2 of the longest span levels);
    each span is the max of two overlapping windows.
    """
    batch, length, channels = z.shape
    lo, hi, in_range = span_index(length, first_offset, num_offsets, z.device)
    size = hi - lo + 1
    level = z.masked_fill(~utterance_mask[..., None], float("-inf"))
    levels, width = [level], 1
    while 2 * width <= int(size.max()):
        tail = level.new_full((batch, width, channels), float("-inf"))
        level = torch.maximum(level, torch.cat([level[:, width:], tail], 1))
        levels.append(level)
        width *= 2
    table = torch.stack(levels, 1)
    k = size.double().log2().floor().long()
    pooled = torch.maximum(table[:, k, lo], table[:, k, hi + 1 - (1 << k)])
    valid = span_valid(utterance_mask, lo, hi, in_range)
    return torch.where(valid[..., None], pooled, 0.0)


def _band_positions(
    length: int, first_offset: int, num_offsets: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat band positions r * O + e and their dense positions r * L + c, for in-range c."""
    rows = torch.arange(length, device=device)[:, None]
    offsets = torch.arange(num_offsets, device=device)
    cols = rows + first_offset + offsets
    keep = (cols >= 0) & (cols < length)
    return (rows * num_offsets + offsets)[keep], (rows * length + cols)[keep]


class _BandToDense(torch.autograd.Function):
    """(B, H, L, O), fill (H,) -> (B, H, L, L): fill, plus band[r, e] at column r + o_min + e."""

    @staticmethod
    def forward(ctx, band: torch.Tensor, fill: torch.Tensor, first_offset: int) -> torch.Tensor:
        batch, heads, length, num_offsets = band.shape
        src, dst = _band_positions(length, first_offset, num_offsets, band.device)
        ctx.save_for_backward(src, dst)
        ctx.num_offsets = num_offsets
        out = band.new_empty(batch, heads, length, length).copy_(fill[:, None, None])
        values = band.reshape(batch, heads, length * num_offsets).index_select(-1, src)
        out.view(batch, heads, length * length).index_add_(-1, dst, values)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        src, dst = ctx.saved_tensors
        grad_band = _DenseToBand.apply(grad, src, dst, ctx.num_offsets)
        grad_fill = grad.sum((0, 2, 3)) if ctx.needs_input_grad[1] else None
        return grad_band, grad_fill, None


class _DenseToBand(torch.autograd.Function):
    """(B, H, L, L) -> band (B, H, L, O) read at the given positions; the adjoint of the above."""

    @staticmethod
    def forward(
        ctx, dense: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, num_offsets: int
    ) -> torch.Tensor:
        batch, heads, length, _ = dense.shape
        ctx.save_for_backward(src, dst)
        ctx.length = length
        values = dense.reshape(batch, heads, length * length).index_select(-1, dst)
        band = dense.new_zeros(batch, heads, length * num_offsets).index_copy_(-1, src, values)
        return band.view(batch, heads, length, num_offsets)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        src, dst = ctx.saved_tensors
        batch, heads, length, num_offsets = grad.shape
        values = grad.reshape(batch, heads, length * num_offsets).index_select(-1, src)
        dense = grad.new_zeros(batch, heads, length * length).index_copy_(-1, dst, values)
        return dense.view(batch, heads, length, length), None, None, None


def band_to_dense(band: torch.Tensor, first_offset: int, fill: torch.Tensor) -> torch.Tensor:
    """(B, H, L, O) band of offsets first_offset .. first_offset + O - 1, fill (H,) -> (B, H, L, L).

    out[b, h, r, c] = fill[h] + band[b, h, r, c - r - first_offset] on the band, fill[h] off it;
    band entries whose column falls outside 0 .. L-1 are dropped. One dense allocation (no
    dense-sized index tensors); the backward reads the band back out of the dense gradient.
    """
    return _BandToDense.apply(band, fill, first_offset)
