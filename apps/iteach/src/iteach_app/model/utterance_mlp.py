"""The "MLP over utterances" token mixer: an MLP whose first layer reads a local window."""

from __future__ import annotations

import torch
from torch import nn


class UtteranceMlpMixer(nn.Module):
    """Two-layer MLP over a window of `kernel_size` neighbouring utterances.

    A token-mixing MLP in the MLP-Mixer sense needs a fixed number of tokens, but conversations
    run from 1 to 110 utterances. So the mixing is local: the first layer is a linear map of the
    concatenated features of utterances i-k//2 .. i+k//2 (written as a 1-D convolution over
    utterances, padded rows zeroed first, so padding and the ends of the conversation read as
    zeros), then GELU, then a per-utterance linear layer back to `dim`.
    `forward(x (B,L,D), bias, utterance_mask (B,L)) -> (B,L,D)`; `bias` is ignored, padded rows
    of the output are zero. `num_heads` is accepted only so all mixers share one constructor.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        kernel_size: int = 3,
        hidden_ratio: float = 1.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        hidden = max(1, round(dim * hidden_ratio))
        self.window = nn.Conv1d(dim, hidden, kernel_size, padding=kernel_size // 2)
        self.act = nn.GELU()
        self.fc = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(proj_drop)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        valid = utterance_mask[..., None]
        x = torch.where(valid, x, torch.zeros_like(x))
        hidden = self.act(self.window(x.transpose(1, 2)).transpose(1, 2))
        out = self.drop(self.fc(hidden))
        return torch.where(valid, out, torch.zeros_like(out))
