"""A stock nn.TransformerEncoder(Layer) run with an ECCE bias, its fused inference path kept off."""

from __future__ import annotations

import torch
from torch import nn

from ecce._checks import check_bias
from ecce.adapters import mha_fastpath_disabled, to_mha_mask


class BiasedTransformerEncoder(nn.Module):
    """Wraps an ``nn.TransformerEncoder`` or ``nn.TransformerEncoderLayer``: (B, L, D) -> (B, L, D).

    The bias (B, H or 1, L, L) goes in as the float ``mask`` of ``to_mha_mask`` (padding folded
    in), and every call runs with PyTorch's fused inference path switched off: that path (eval
    mode under no_grad) reads a float mask as a boolean one and gives NaN or wrong rows
    (pytorch/pytorch#118628). Training and inference therefore compute the same function. The
    switch is the process-wide ``torch.backends.mha`` flag, restored after the call.
    """

    def __init__(self, encoder: nn.TransformerEncoder | nn.TransformerEncoderLayer) -> None:
        super().__init__()
        if isinstance(encoder, nn.TransformerEncoderLayer):
            first = encoder
        elif isinstance(encoder, nn.TransformerEncoder) and len(encoder.layers) > 0:
            first = encoder.layers[0]
        else:
            raise TypeError(
                "BiasedTransformerEncoder wraps an nn.TransformerEncoder (with layers) or an "
                f"nn.TransformerEncoderLayer, not {type(encoder).__name__}"
            )
        self.encoder = encoder
        self.num_heads: int = first.self_attn.num_heads
        self.batch_first: bool = first.self_attn.batch_first

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor,
        utterance_mask: torch.Tensor | None = None,
        *,
        causal: bool = False,
    ) -> torch.Tensor:
        """x (B, L, D) (or (L, B, D) for a batch_first=False encoder), bias (B, H or 1, L, L),
        utterance_mask (B, L) bool -> same shape as x. Do not also pass a key padding mask."""
        check_bias(bias)
        mask = to_mha_mask(
            bias.to(x.dtype), utterance_mask, causal=causal, num_heads=self.num_heads
        )
        with mha_fastpath_disabled():
            if isinstance(self.encoder, nn.TransformerEncoderLayer):
                return self.encoder(x, src_mask=mask)
            return self.encoder(x, mask=mask)
