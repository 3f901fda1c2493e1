"""Streaming ECCE: the bias row of each new utterance of a live conversation, one step at a time."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecce.local import UtteranceConv


class ECCEStream:
    """Incremental form of a causal ECCE; ``step`` returns what the offline ECCE gives row t.

    State: the last ``window`` inputs (for F_local) and the last ``max_distance`` local features,
    already projected to the H heads for mean pooling. A step costs one F_local output plus
    O(max_distance * H) for mean pooling (O(max_distance * D_z * H) for max). A custom ``local``
    must be causal with a receptive field of at most ``window`` utterances: the stream feeds it the
    last ``window`` inputs (zeros before the first) and reads its last output.
    """

    def __init__(self, ecce: nn.Module) -> None:
        if not ecce.causal:
            raise ValueError(
                "streaming needs ECCE(..., causal=True): a centred window sees the future"
            )
        self.ecce = ecce
        self.num_steps = 0
        self._recent: torch.Tensor | None = None
        self._history: torch.Tensor | None = None

    @property
    def far_value(self) -> torch.Tensor:
        """(H,) the bias beyond max_distance (and for future utterances): proj(0)."""
        proj = self.ecce.proj
        return proj.bias if proj.bias is not None else proj.weight.new_zeros(proj.out_features)

    def step(self, x: torch.Tensor, *, full: bool = False) -> torch.Tensor:
        """Utterance t, x (B, D) -> its bias row (B, H, n) against utterances t - n + 1 .. t.

        n = min(t + 1, max_distance); every earlier utterance gets ``far_value``. ``full=True``
        returns the whole row (B, H, t + 1) instead, equal to ``ecce(x_0..t)[:, :, t]``.
        """
        z = self._local_step(x)
        dtype = x.dtype
        ecce = self.ecce
        item = F.linear(z, ecce.proj.weight) if ecce.pooling == "mean" else z
        kept = ecce.max_distance - 1
        if self._history is None:
            self._history = item[:, None]
        else:
            start = max(0, self._history.shape[1] - kept)
            self._history = torch.cat([self._history[:, start:], item[:, None]], 1)
        row = self._pool(self._history) + self.far_value
        self.num_steps += 1
        row = row.transpose(1, 2)
        if full and self.num_steps > row.shape[-1]:
            far = self.far_value[None, :, None].expand(
                row.shape[0], -1, self.num_steps - row.shape[-1]
            )
            row = torch.cat([far.to(row.dtype), row], -1)
        return row.to(dtype)

    def _local_step(self, x: torch.Tensor) -> torch.Tensor:
        """Z of the newest utterance: (B, D) -> (B, D_z)."""
        ecce = self.ecce
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[-1] != ecce.dim:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"step expects one utterance per conversation, (B, D={ecce.dim}), got {shape}"
            )
        if not x.is_floating_point():
            raise TypeError(f"step expects a floating-point utterance, got dtype {x.dtype}")
        bad = ~torch.isfinite(x).all(dim=-1)
        if bool(bad.any()):
            raise ValueError(
                f"step got a NaN or inf feature for conversation {int(bad.nonzero()[0, 0])} at "
                f"utterance {self.num_steps}; it would spread to every later bias row"
            )
        x = x.to(ecce.proj.weight.dtype)
        if self._recent is None:
            self._recent = x.new_zeros(x.shape[0], ecce.window, ecce.dim)
        elif self._recent.shape[0] != x.shape[0]:
            raise ValueError(
                f"step got a batch of {x.shape[0]}, this stream holds {self._recent.shape[0]}"
            )
        self._recent = torch.cat([self._recent[:, 1:], x[:, None]], 1)
        local = ecce.local
        z = (
            local.last(self._recent)
            if isinstance(local, UtteranceConv)
            else local(self._recent)[:, -1]
        )
        if tuple(z.shape) != (x.shape[0], ecce.hidden_dim):
            raise ValueError(
                f"local gave {tuple(z.shape)} for the newest utterance, expected (B, hidden_dim)"
            )
        return z

    def _pool(self, history: torch.Tensor) -> torch.Tensor:
        """(B, n, C), newest last -> (B, n, H): projected F_global of each span j .. t, no bias."""
        if self.ecce.pooling == "max":
            suffix_max = history.flip(1).cummax(1).values.flip(1)
            return F.linear(suffix_max, self.ecce.proj.weight)
        acc = torch.float64 if history.dtype != torch.float64 else history.dtype
        suffix_sum = history.to(acc).flip(1).cumsum(1).flip(1)
        counts = torch.arange(history.shape[1], 0, -1, device=history.device, dtype=acc)
        return (suffix_sum / counts[:, None]).to(history.dtype)
