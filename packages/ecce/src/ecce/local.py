"""F_local: the default local-context module, a 1-D convolution over utterances."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecce._checks import check_positive_int


class UtteranceConv(nn.Module):
    """1-D convolution along utterances: (B, L, D) -> (B, L, D_z), zero-padded at both ends.

    Non-causal ("same" padding, as ``nn.Conv1d(padding="same")``): utterance i sees
    ``i - (w - 1) // 2 .. i + w // 2``, i.e. i-3 .. i+3 for w = 7 (for an even w the extra one is on
    the right). Causal: utterance i sees ``i - w + 1 .. i``, the past only.
    """

    def __init__(self, dim: int, out_dim: int, window: int = 7, *, causal: bool = False) -> None:
        super().__init__()
        self.window = check_positive_int("window", window)
        self.causal = causal
        self.padding = (window - 1, 0) if causal else ((window - 1) // 2, window // 2)
        self.conv = nn.Conv1d(
            check_positive_int("dim", dim), check_positive_int("out_dim", out_dim), window
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, L, D_z)."""
        return self.conv(F.pad(x.transpose(1, 2), self.padding)).transpose(1, 2)

    def last(self, recent: torch.Tensor) -> torch.Tensor:
        """Causal Z of the newest utterance from the last w inputs: (B, w, D) -> (B, D_z)."""
        if not self.causal:
            raise RuntimeError(
                "UtteranceConv.last needs causal=True: a centred window sees the future"
            )
        return torch.einsum("bwd,odw->bo", recent, self.conv.weight) + self.conv.bias
