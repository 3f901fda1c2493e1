"""The paper's Algorithm 1, written as plainly as possible: ground truth for tests and benchmarks.

Do not use this in a model: it loops in Python over every pair of utterances.
"""

from __future__ import annotations

import torch
from torch import nn


def algorithm1(
    x: torch.Tensor,
    local: nn.Module,
    proj: nn.Linear,
    max_distance: int,
    utterance_mask: torch.Tensor | None = None,
    pooling: str = "mean",
    causal: bool = False,
) -> torch.Tensor:
    """x (B, L, D) -> bias (B, H, L, L), one pair at a time.

    Z = local(x with padding zeroed). For real i, j with |i - j| < max_distance (and j <= i when
    causal), E[i, j] = pool of Z over the real utterances of min(i, j) .. max(i, j); every other
    E[i, j] is zeros. The result is proj(E), so padded rows and columns hold proj(0).
    """
    batch, length, _ = x.shape
    if utterance_mask is None:
        utterance_mask = torch.ones(batch, length, dtype=torch.bool)
    z = local(x.masked_fill(~utterance_mask[..., None], 0.0))
    pairs = []
    for b in range(batch):
        for i in range(length):
            for j in range(length):
                near = abs(i - j) < max_distance and (j <= i or not causal)
                if near and utterance_mask[b, i] and utterance_mask[b, j]:
                    lo, hi = min(i, j), max(i, j)
                    span = z[b, lo : hi + 1][utterance_mask[b, lo : hi + 1]]
                    pooled = span.mean(0) if pooling == "mean" else span.max(0).values
                else:
                    pooled = z.new_zeros(z.shape[-1])
                pairs.append(pooled)
    e = torch.stack(pairs).reshape(batch, length, length, -1)
    return proj(e).permute(0, 3, 1, 2)
