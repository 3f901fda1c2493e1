"""Position masks: shape checks and the selections the losses use."""

from __future__ import annotations

import torch


def check_mask(mask: torch.Tensor | None, name: str, positions: torch.Size) -> torch.Tensor | None:
    """`mask` as bool, after checking it has the target's shape `positions` ((B, L) or (B,))."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool tensor, not {type(mask).__name__}")
    if mask.shape != positions:
        raise ValueError(
            f"{name} has shape {tuple(mask.shape)} but the target has shape {tuple(positions)}; "
            f"{name} must be a bool mask with one entry per target position"
        )
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool, not {mask.dtype}")
    return mask


def combine(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    """Logical and of two optional masks (None means everywhere)."""
    if first is None:
        return second
    if second is None:
        return first
    return first & second
