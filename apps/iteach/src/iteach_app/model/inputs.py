"""Input checks for ITEACHNet.forward: clear errors naming the key, shape or value at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def check_inputs(
    features: Mapping[str, torch.Tensor],
    utterance_mask: torch.Tensor,
    present: torch.Tensor | None,
    modality_dims: Mapping[str, int],
    modalities: Sequence[str],
) -> None:
    """Raise KeyError/ValueError/TypeError naming what is wrong with one forward's inputs."""
    if not isinstance(features, Mapping):
        raise TypeError(f"features must be a dict of modality -> (B, L, D), got {type(features)}")
    missing = [name for name in modalities if name not in features]
    if missing:
        raise KeyError(
            f"features lacks modality {missing[0]!r} (the model uses {list(modalities)}; "
            f"got {sorted(features)})"
        )
    if not isinstance(utterance_mask, torch.Tensor) or utterance_mask.dim() != 2:
        shape = getattr(utterance_mask, "shape", type(utterance_mask).__name__)
        raise ValueError(f"utterance_mask must be a (B, L) bool tensor, got {shape}")
    if utterance_mask.dtype != torch.bool:
        raise TypeError(f"utterance_mask must be bool, got dtype {utterance_mask.dtype}")
    batch, length = utterance_mask.shape
    for name in modalities:
        x = features[name]
        expected = (batch, length, modality_dims[name])
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != expected:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"features[{name!r}] has shape {shape}, expected (B, L, D) = {expected}"
            )
        if not x.is_floating_point():
            raise TypeError(f"features[{name!r}] must be floating point, got dtype {x.dtype}")
    if present is not None:
        expected = (batch, length, len(modalities))
        if not isinstance(present, torch.Tensor) or tuple(present.shape) != expected:
            shape = tuple(present.shape) if isinstance(present, torch.Tensor) else type(present)
            raise ValueError(
                f"present has shape {shape}, expected (B, L, M) = {expected} with M in the "
                f"order of model.modalities {tuple(modalities)}"
            )
        if present.dtype != torch.bool:
            raise TypeError(f"present must be bool, got dtype {present.dtype}")
