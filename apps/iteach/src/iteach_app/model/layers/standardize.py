"""Per-modality feature standardisation inside the model, so every loader and every command that
loads a checkpoint gets the training split's statistics for free (they are buffers)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn


class ModalityStatistics(nn.Module):
    """One modality's per-dimension ``mean`` and ``std`` (D,) buffers; identity (0, 1) at first."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))


class FeatureStandardizer(nn.Module):
    """``x -> (x - mean) / std`` per modality and dimension, on observed rows only.

    `forward(features {name: (B,L,D_m)}, utterance_mask (B,L), present (B,L,M) | None)
    -> {name: (B,L,D_m)}`: rows that are padding or where ``present`` (last dim in the order of
    ``modality_dims``) is False come out as zeros, the literature's missing-modality convention.
    The statistics start as the identity (mean 0, std 1); `load_statistics` sets them, e.g. from
    ``erc_data.Standardizer(...).fit(train).state_dict()``. Extra keys of ``features`` are dropped.
    """

    def __init__(self, modality_dims: Mapping[str, int]) -> None:
        super().__init__()
        self.modalities = tuple(modality_dims)
        self.stats = nn.ModuleDict(
            {name: ModalityStatistics(int(dim)) for name, dim in modality_dims.items()}
        )

    def load_statistics(self, state: Mapping[str, np.ndarray | torch.Tensor]) -> None:
        """Set the statistics from ``{"<modality>.mean": (D,), "<modality>.std": (D,)}`` (the
        layout of ``erc_data.Standardizer.state_dict``); an empty mapping resets to identity."""
        if not state:
            for stats in self.stats.values():
                stats.mean.zero_()
                stats.std.fill_(1.0)
            return
        for name, stats in self.stats.items():
            for kind in ("mean", "std"):
                key = f"{name}.{kind}"
                if key not in state:
                    raise KeyError(
                        f"feature statistics lack {key!r} (have {sorted(state)}); the model "
                        f"needs mean and std of {list(self.modalities)}"
                    )
                value = torch.as_tensor(np.asarray(state[key]), dtype=torch.float64)
                buffer = getattr(stats, kind)
                if tuple(value.shape) != tuple(buffer.shape):
                    raise ValueError(
                        f"feature statistics {key!r} have shape {tuple(value.shape)}, the model "
                        f"expects {tuple(buffer.shape)}"
                    )
                if not torch.isfinite(value).all() or (kind == "std" and (value <= 0).any()):
                    raise ValueError(f"feature statistics {key!r} hold NaN, inf or std <= 0")
                buffer.copy_(value.to(buffer.dtype))

    @property
    def is_identity(self) -> bool:
        """True while every mean is 0 and every std 1 (nothing loaded, or standardize = none)."""
        return all(bool((s.mean == 0).all() and (s.std == 1).all()) for s in self.stats.values())

    def standardize(
        self, name: str, x: torch.Tensor, observed: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``name``'s features x (..., D) standardised; zeros where ``observed`` (...) is False."""
        stats = self.stats[name]
        z = (x - stats.mean.to(x.dtype)) / stats.std.to(x.dtype)
        return z if observed is None else torch.where(observed[..., None], z, torch.zeros_like(z))

    def forward(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        out = {}
        for index, name in enumerate(self.modalities):
            observed = utterance_mask if present is None else utterance_mask & present[..., index]
            out[name] = self.standardize(name, features[name], observed)
        return out
