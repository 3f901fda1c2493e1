"""Token mixers: each is built as `cls(dim=, num_heads=, proj_drop=)` and called as
`forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`.

- `AttentionMixer`: ecce's `BiasedSelfAttention` (padded keys masked, bias on logits), run in
  query blocks on long conversations (layers/chunked.py).
- `UtteranceMlpMixer`: "MLP over utterances", local over a window of 3 (a departure, see README).
- `AvgPoolMixer` / `MaxPoolMixer`: `pool(x)` over valid neighbours (PoolFormer's `pool(x) - x`
  with `subtract_input=True`; see the class docstring for why it is off).
- `NASMixer`: a per-utterance `Router` over the four above.

Every mixer takes ``causal=``: with it, utterance i reads utterances ..i only (attention masks
later keys; the pooling and MLP windows cover i-k+1 .. i instead of i-k//2 .. i+k//2, the same
width), so a prefix of a conversation gets the same outputs as the whole conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from iteach_app.model.layers.chunked import AttentionMixer


class _WindowPoolMixer(nn.Module):
    """Pools each utterance's window of `kernel_size` neighbours and returns `pool(x)`.

    Inside the NAS router's convex mixture, PoolFormer's `pool(x) - x` (`subtract_input=True`)
    would take the router's pooling share of the normalised input away from the block's
    residual, and on IEMOCAP it measured worse on validation (docs/results/nas_gap.md); so the
    pooled neighbours are returned as they are, like every other candidate's context summary.
    Padding never enters a pool: padded utterances (and positions past either end of the
    conversation) are left out of the window, so a conversation's result does not depend on
    how much padding its batch adds. Padded rows of the output are zero. Parameter-free;
    `num_heads` and `proj_drop` are accepted only so all mixers share one constructor.
    `causal`: the window is i-k+1 .. i (the past only) instead of centred on i.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        kernel_size: int = 3,
        subtract_input: bool = False,
        proj_drop: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.dim = dim
        self.kernel_size = kernel_size
        self.subtract_input = subtract_input
        self.causal = causal

    @property
    def window(self) -> dict[str, int]:
        """Keyword arguments of the 1-D pooling over utterances (centred: pad both ends)."""
        return {"kernel_size": self.kernel_size, "stride": 1, "padding": self.kernel_size // 2}

    def pad_past(self, x: torch.Tensor, value: float) -> torch.Tensor:
        """(B,D,L) -> (B,D,L+k-1): ``value`` before the first utterance, so an unpadded
        pooling of width k over the result reads i-k+1 .. i for output i."""
        return F.pad(x, (self.kernel_size - 1, 0), value=value)

    def pool(self, x: torch.Tensor, padded: torch.Tensor | None) -> torch.Tensor:
        """Pooled features (B,L,D) over valid neighbours; ``padded`` (B,L,1) marks padding, None
        when there is none (the cheaper path, e.g. one conversation); by the subclasses."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        padded = None if bool(utterance_mask.all()) else ~utterance_mask[..., None]
        pooled = self.pool(x, padded)
        if self.subtract_input:
            pooled = pooled - x
        return pooled if padded is None else pooled.masked_fill(padded, 0.0)


class AvgPoolMixer(_WindowPoolMixer):
    """Mean over the valid utterances of the window."""

    def pool(self, x: torch.Tensor, padded: torch.Tensor | None) -> torch.Tensor:
        window = self.window
        if padded is None and not self.causal:  # only the conversation's ends to leave out
            return F.avg_pool1d(x.transpose(1, 2), **window, count_include_pad=False).transpose(
                1, 2
            )
        valid = x.new_ones(*x.shape[:2], 1) if padded is None else (~padded).to(x.dtype)
        values, counts = (x * valid).transpose(1, 2), valid.transpose(1, 2)
        if self.causal:
            values, counts = self.pad_past(values, 0.0), self.pad_past(counts, 0.0)
            window = {**window, "padding": 0}
        sums = F.avg_pool1d(values, **window) * self.kernel_size
        counts = F.avg_pool1d(counts, **window) * self.kernel_size
        return (sums / counts.round().clamp(min=1.0)).transpose(1, 2)


class MaxPoolMixer(_WindowPoolMixer):
    """Channel-wise max over the valid utterances of the window."""

    def pool(self, x: torch.Tensor, padded: torch.Tensor | None) -> torch.Tensor:
        filled = (x if padded is None else x.masked_fill(padded, float("-inf"))).transpose(1, 2)
        if self.causal:
            pooled = F.max_pool1d(self.pad_past(filled, float("-inf")), self.kernel_size, 1)
        else:
            pooled = F.max_pool1d(filled, self.kernel_size, 1, self.kernel_size // 2)
        return pooled.transpose(1, 2)  # -inf only on padded rows, which forward zeroes


class UtteranceMlpMixer(nn.Module):
    """Two-layer MLP over a window of `kernel_size` neighbouring utterances.

    A token-mixing MLP in the MLP-Mixer sense needs a fixed number of tokens, but conversations
    run from 1 to 110 utterances. So the mixing is local: the first layer is a linear map of the
    concatenated features of utterances i-k//2 .. i+k//2 (written as a 1-D convolution over
    utterances, padded rows zeroed first, so padding and the ends of the conversation read as
    zeros), then GELU, then a per-utterance linear layer back to `dim`.
    `forward(x (B,L,D), bias, utterance_mask (B,L)) -> (B,L,D)`; `bias` is ignored, padded rows
    of the output are zero. `num_heads` is accepted only so all mixers share one constructor.
    `causal`: the window is i-k+1 .. i (zeros before the first utterance); same parameters.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        kernel_size: int = 3,
        hidden_ratio: float = 1.0,
        proj_drop: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        hidden = max(1, round(dim * hidden_ratio))
        self.causal = causal
        self.kernel_size = kernel_size
        self.window = nn.Conv1d(dim, hidden, kernel_size, padding=0 if causal else kernel_size // 2)
        self.act = nn.GELU()
        self.fc = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(proj_drop)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        padded = None if bool(utterance_mask.all()) else ~utterance_mask[..., None]
        if padded is not None:
            x = x.masked_fill(padded, 0.0)
        x = x.transpose(1, 2)
        if self.causal:
            x = F.pad(x, (self.kernel_size - 1, 0))
        hidden = self.act(self.window(x).transpose(1, 2))
        out = self.drop(self.fc(hidden))
        return out if padded is None else out.masked_fill(padded, 0.0)


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
    weights (B,L,len(candidates)), detached, for logging. `causal` reaches every candidate.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        proj_drop: float = 0.0,
        candidates: Sequence[type[nn.Module]] = CANDIDATES,
        causal: bool = False,
    ) -> None:
        super().__init__()
        if not candidates:
            raise ValueError("NASMixer needs at least one candidate mixer")
        self.causal = causal
        past_only = {"causal": True} if causal else {}
        self.candidates = nn.ModuleList(
            cls(dim=dim, num_heads=num_heads, proj_drop=proj_drop, **past_only)
            for cls in candidates
        )
        self.router = Router(dim, len(self.candidates))
        self.last_weights: torch.Tensor | None = None

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        weights = self.router(x)
        self.last_weights = weights.detach()
        outputs = torch.stack([mixer(x, bias, utterance_mask) for mixer in self.candidates], -1)
        return (outputs @ weights[..., None]).squeeze(-1)  # (B,L,D,C) @ (B,L,C,1)
