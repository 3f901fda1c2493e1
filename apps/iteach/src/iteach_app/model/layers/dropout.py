"""Dropout whose CPU mask costs a fraction of `nn.Dropout`'s: the Bernoulli draws dominated a CPU
training step (a quarter of an ITS epoch on CPU), since torch draws one random number per
element. Here one 64-bit draw of the default generator gives four 16-bit lanes, each compared
with a threshold, so seeding (`torch.manual_seed`) still decides every mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LANES = 1 << 16  # a keep decision is one 16-bit lane: keep probability in steps of 1/65536


def keep_mask(shape: torch.Size, p: float, dtype: torch.dtype) -> torch.Tensor:
    """A CPU mask of ``shape``: 1 / q where kept, 0 where dropped; q = kept lanes / 65536 ~ 1 - p,
    so the mask's expectation is exactly 1."""
    count = shape.numel()
    words = torch.empty((count + 3) // 4, dtype=torch.int64)
    words.random_(-(1 << 63), (1 << 63) - 1)
    lanes = words.view(torch.int16)[:count].view(shape)
    dropped = round(p * LANES)
    keep = lanes >= dropped - LANES // 2
    return keep.to(dtype).mul_(LANES / (LANES - dropped))


class FastDropout(nn.Dropout):
    """`nn.Dropout` (same `p`, same state) drawing its CPU training mask with `keep_mask`;
    other devices and `p` of 1 run `F.dropout`; evaluation and `p` of 0 return the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        usable = self.p < 1.0 and round(self.p * LANES) < LANES
        if not (usable and x.device.type == "cpu" and x.is_floating_point()):
            return F.dropout(x, self.p, self.training, self.inplace)
        mask = keep_mask(x.shape, self.p, x.dtype)
        return x.mul_(mask) if self.inplace else x * mask


def use_fast_dropout(module: nn.Module) -> int:
    """Replace every plain `nn.Dropout` inside ``module`` (e.g. the Mlp's) by a `FastDropout` of
    the same `p`; returns how many were replaced. Parameters and state dict are untouched."""
    replaced = 0
    for parent in module.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p, child.inplace))
                replaced += 1
    return replaced
