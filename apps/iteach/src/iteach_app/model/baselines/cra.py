"""CRA baseline: a cascade of residual autoencoders imputes the missing modality embeddings.

Tran et al.'s Cascaded Residual Autoencoder as run in the GCNet repository (mmin_CRA): the AE
baseline with its autoencoder replaced by ``n_blocks`` chained FC autoencoders, each fed the sum
of the previous block's input and output (a residual cascade), then a two-layer transition MLP.
The classifier reads the imputed embedding. Defaults: ``ae_layers`` 256,128 (the repository's
IEMOCAP command), ``n_blocks`` 3 (its default; it reproduces the paper's 2.11M parameters), mse
weight 0.8 (the README's IEMOCAP command), dropout 0.5.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from iteach_app.model.baselines.ae import AE
from iteach_app.model.registry import register_model


def _encoder(dim: int, layers: Sequence[int]) -> nn.Sequential:
    """dim -> layers with LeakyReLU between (none after the last)."""
    widths = [dim, *layers]
    parts: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        parts += [nn.Linear(a, b), nn.LeakyReLU()]
    return nn.Sequential(*parts[:-1])


def _decoder(dim: int, layers: Sequence[int]) -> nn.Sequential:
    """reversed layers -> dim with ReLU between (none after the last)."""
    widths = [*reversed(layers), dim]
    parts: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        parts += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*parts[:-1])


class ResidualAutoencoder(nn.Module):
    """Cascade of ``n_blocks`` FC autoencoders with residual inputs, then a transition MLP."""

    def __init__(self, dim: int, layers: Sequence[int], n_blocks: int) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        self.encoders = nn.ModuleList(_encoder(dim, layers) for _ in range(n_blocks))
        self.decoders = nn.ModuleList(_decoder(dim, layers) for _ in range(n_blocks))
        self.transition = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward_with_latents(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(…, dim) -> reconstruction (…, dim) and the blocks' latents concatenated (…, n*last)."""
        x_in, x_out = x, torch.zeros_like(x)
        latents = []
        for encoder, decoder in zip(self.encoders, self.decoders, strict=True):
            x_in = x_in + x_out
            latent = encoder(x_in)
            x_out = decoder(latent)
            latents.append(latent)
        return self.transition(x_in + x_out), torch.cat(latents, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_latents(x)[0]


@register_model("cra", label="CRA", paper_parameters=2.11e6)
class CRA(AE):
    """Cascaded residual autoencoder baseline; see the module docstring."""

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        embed_dim: int = 128,
        cls_layers: Sequence[int] = (128, 128),
        ae_layers: Sequence[int] = (256, 128),
        n_blocks: int = 3,
        dropout: float = 0.5,
        recon_weight: float = 0.8,
    ) -> None:
        self._n_blocks = n_blocks
        super().__init__(
            modality_dims, out_dim, embed_dim=embed_dim, cls_layers=cls_layers,
            ae_layers=ae_layers, dropout=dropout, recon_weight=recon_weight,
        )  # fmt: skip

    def _make_autoencoder(self, dim: int, layers: Sequence[int]) -> nn.Module:
        return ResidualAutoencoder(dim, layers, self._n_blocks)
