"""Average and max pooling token mixers over a local window of utterances (PoolFormer style)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _WindowPoolMixer(nn.Module):
    """Pools each utterance's window of `kernel_size` neighbours and returns `pool(x) - x`.

    Padding never enters a pool: padded utterances (and positions past either end of the
    conversation) are left out of the window, so a conversation's result does not depend on
    how much padding its batch adds. Padded rows of the output are zero. Parameter-free;
    `num_heads` and `proj_drop` are accepted only so all mixers share one constructor.
    """

    def __init__(
        self, dim: int, num_heads: int = 8, *, kernel_size: int = 3, proj_drop: float = 0.0
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.dim = dim
        self.kernel_size = kernel_size

    def pool(self, x: torch.Tensor, utterance_mask: torch.Tensor) -> torch.Tensor:
        """Pooled features (B,L,D) over valid neighbours; implemented by the subclasses."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        valid = utterance_mask[..., None]
        return torch.where(valid, self.pool(x, utterance_mask) - x, torch.zeros_like(x))


class AvgPoolMixer(_WindowPoolMixer):
    """Mean over the valid utterances of the window, minus the utterance itself."""

    def pool(self, x: torch.Tensor, utterance_mask: torch.Tensor) -> torch.Tensor:
        valid = utterance_mask[..., None].to(x.dtype)
        pad = self.kernel_size // 2
        window = {"kernel_size": self.kernel_size, "stride": 1, "padding": pad}
        sums = F.avg_pool1d((x * valid).transpose(1, 2), **window) * self.kernel_size
        counts = F.avg_pool1d(valid.transpose(1, 2), **window) * self.kernel_size
        return (sums / counts.round().clamp(min=1.0)).transpose(1, 2)


class MaxPoolMixer(_WindowPoolMixer):
    """Channel-wise max over the valid utterances of the window, minus the utterance itself."""

    def pool(self, x: torch.Tensor, utterance_mask: torch.Tensor) -> torch.Tensor:
        filled = x.masked_fill(~utterance_mask[..., None], float("-inf"))
        pooled = F.max_pool1d(filled.transpose(1, 2), self.kernel_size, 1, self.kernel_size // 2)
        pooled = pooled.transpose(1, 2)
        return torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))
