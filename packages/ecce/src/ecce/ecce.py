"""ECCE: the Emotion Context Changing Encoder as a (B, H, L, L) attention bias."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecce._checks import (
    check_features,
    check_finite,
    check_mask,
    check_pooling,
    check_positive_int,
)
from ecce.local import UtteranceConv
from ecce.spans import band_to_dense, span_max_band, span_mean_band
from ecce.streaming import ECCEStream


class ECCE(nn.Module):
    """Conversational context bias: E[i, j] = proj(F_global(Z[min(i,j) .. max(i,j)])), Z = local(x).

    Pairs with |i - j| >= ``max_distance``, padded rows and padded columns get proj(0) (the
    paper's zeros before the FC); padding never enters F_global. ``pooling`` is F_global:
    ``"mean"`` (projects first, then averages by prefix sums: O(B * L^2 * H), independent of D_z)
    or ``"max"``. ``causal=True`` uses a past-only window and fills E[i, j > i] with proj(0), so row
    i depends on utterances 0 .. i only; see ``stream`` for the incremental form.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 1,
        *,
        window: int = 7,
        max_distance: int = 30,
        local: nn.Module | None = None,
        hidden_dim: int | None = None,
        pooling: str = "mean",
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.window = check_positive_int("window", window)
        self.max_distance = check_positive_int("max_distance", max_distance)
        self.hidden_dim = check_positive_int(
            "hidden_dim", dim if hidden_dim is None else hidden_dim
        )
        self.pooling = check_pooling(pooling)
        self.causal = causal
        self.local = (
            UtteranceConv(dim, self.hidden_dim, window, causal=causal) if local is None else local
        )
        self.proj = nn.Linear(self.hidden_dim, num_heads)

    def forward(self, x: torch.Tensor, utterance_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D), utterance_mask (B, L) bool or None -> bias (B, H, L, L), all finite.

        ``x`` of any float dtype is computed in the parameters' dtype and the bias is returned in
        ``x``'s dtype (call ``.double()`` for float64 arithmetic). A NaN or inf on a real
        utterance raises a ValueError naming it; padding may hold anything.
        """
        check_features(x, self.dim)
        batch, length, _ = x.shape
        mask = check_mask(utterance_mask, batch, length, x.device)
        if length == 0:
            return x.new_zeros(batch, self.num_heads, 0, 0)
        check_finite(x, mask)
        return self._bias(x.to(self.proj.weight.dtype), mask).to(x.dtype)

    def _bias(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The dense bias (B, H, L, L) of checked features x (B, L, D) in the parameters' dtype."""
        length = x.shape[1]
        z = self.local_features(x, mask)
        reach = min(self.max_distance, length) - 1
        num_offsets = reach + 1 if self.causal else 2 * reach + 1
        if self.pooling == "mean":
            p = F.linear(z, self.proj.weight)
            band = span_mean_band(p, mask, -reach, num_offsets)
        else:
            band = F.linear(span_max_band(z, mask, -reach, num_offsets), self.proj.weight)
        bias = self.proj.bias if self.proj.bias is not None else band.new_zeros(self.num_heads)
        return band_to_dense(band.permute(0, 3, 1, 2), -reach, bias)

    def local_features(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Z = F_local(x with padding zeroed): (B, L, D) -> (B, L, D_z)."""
        z = self.local(x.masked_fill(~mask[..., None], 0.0))
        expected = (x.shape[0], x.shape[1], self.hidden_dim)
        if not isinstance(z, torch.Tensor) or tuple(z.shape) != expected:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"local returned {got}, expected (B, L, hidden_dim) = {expected}")
        return z

    def stream(self) -> ECCEStream:
        """An incremental view of this causal ECCE: feed utterances one at a time to ``step``."""
        return ECCEStream(self)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, num_heads={self.num_heads}, window={self.window}, "
            f"max_distance={self.max_distance}, pooling={self.pooling!r}, causal={self.causal}"
        )
