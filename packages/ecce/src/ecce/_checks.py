"""Input checks shared by the ECCE modules: clear errors instead of deep torch shape errors."""

from __future__ import annotations

import torch

POOLINGS = ("mean", "max")


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def check_pooling(pooling: str) -> str:
    """Return ``pooling`` if it names a supported F_global, else raise a ValueError."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    return pooling


def check_features(x: torch.Tensor, dim: int | None = None, name: str = "x") -> None:
    """Check that ``x`` is a float (B, L, D) tensor, with D == ``dim`` when given."""
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must have shape (B, L, D), got {shape}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if dim is not None and x.shape[-1] != dim:
        raise ValueError(f"{name} has feature size D={x.shape[-1]}, expected {dim}")


def check_finite(x: torch.Tensor, mask: torch.Tensor, name: str = "x") -> None:
    """Raise a ValueError naming the first real utterance of ``x`` (B, L, D) with a NaN or inf.

    Padding (``mask`` False) may hold anything: it is zeroed before use.
    """
    bad = ~torch.isfinite(x).all(dim=-1) & mask
    if bool(bad.any()):
        conversation, utterance = (int(i) for i in bad.nonzero()[0])
        count = int(bad.sum())
        raise ValueError(
            f"{name} has a NaN or inf feature at conversation {conversation}, utterance "
            f"{utterance} ({count} real utterance(s) in all); ECCE averages features over spans, "
            f"so one non-finite value would spread to whole bias rows. Clean the features, or mark "
            f"those utterances False in utterance_mask (padding may hold anything)"
        )


def check_mask(
    utterance_mask: torch.Tensor | None, batch: int, length: int, device: torch.device
) -> torch.Tensor:
    """Return a (B, L) bool mask (all True when ``None``); raise on a wrong shape or dtype."""
    if utterance_mask is None:
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    if not isinstance(utterance_mask, torch.Tensor) or utterance_mask.dtype != torch.bool:
        kind = (
            utterance_mask.dtype
            if isinstance(utterance_mask, torch.Tensor)
            else type(utterance_mask)
        )
        raise TypeError(f"utterance_mask must be a bool tensor, got {kind}")
    if tuple(utterance_mask.shape) != (batch, length):
        raise ValueError(
            f"utterance_mask has shape {tuple(utterance_mask.shape)}, "
            f"expected (B, L) = {(batch, length)}"
        )
    return utterance_mask


def check_bias(bias: torch.Tensor) -> None:
    """Check that ``bias`` is a float (B, H, L, L) attention bias."""
    if not isinstance(bias, torch.Tensor) or bias.dim() != 4 or bias.shape[-1] != bias.shape[-2]:
        shape = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        raise ValueError(f"bias must have shape (B, H, L, L), got {shape}")
    if not bias.is_floating_point():
        raise TypeError(f"bias must be a floating-point tensor, got dtype {bias.dtype}")
