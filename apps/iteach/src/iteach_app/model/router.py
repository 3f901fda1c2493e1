"""The searchable token mixer: a per-utterance Router over candidate mixers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from iteach_app.model.attention import AttentionMixer
from iteach_app.model.pooling import AvgPoolMixer, MaxPoolMixer
from iteach_app.model.utterance_mlp import UtteranceMlpMixer

CANDIDATES: tuple[type[nn.Module], ...] = (
    AttentionMixer,
    UtteranceMlpMixer,
    AvgPoolMixer,
    MaxPoolMixer,
)


class Router(nn.Module):
    """Per-utterance Linear + softmax: (B,L,D) -> weights (B,L,num_choices) summing to 1."""

    def __init__(self, dim: int, num_choices: int) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, num_choices)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).softmax(dim=-1)


class NASMixer(nn.Module):
    """Token mixer that routes each utterance over `candidates` (default: attention, MLP over
    utterances, average pooling, max pooling) and returns the router-weighted sum of their
    outputs. Same constructor keywords and forward signature as every mixer:
    `forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`; the bias reaches
    the candidates that use it (attention). `last_weights` holds the last forward's router
    weights (B,L,len(candidates)), detached, for logging.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        proj_drop: float = 0.0,
        candidates: Sequence[type[nn.Module]] = CANDIDATES,
    ) -> None:
        super().__init__()
        if not candidates:
            raise ValueError("NASMixer needs at least one candidate mixer")
        self.candidates = nn.ModuleList(
            cls(dim=dim, num_heads=num_heads, proj_drop=proj_drop) for cls in candidates
        )
        self.router = Router(dim, len(self.candidates))
        self.last_weights: torch.Tensor | None = None

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        weights = self.router(x)
        self.last_weights = weights.detach()
        outputs = torch.stack([mixer(x, bias, utterance_mask) for mixer in self.candidates], -1)
        return (outputs * weights[..., None, :]).sum(dim=-1)
