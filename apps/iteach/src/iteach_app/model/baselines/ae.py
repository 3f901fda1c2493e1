"""AE baseline: an autoencoder over the concatenated modality embeddings imputes missing ones.

Following MMIN's "AE" baseline as run in the GCNet repository (mmin_AE): each modality goes
through an FC encoder (widths ``cls_layers`` then ``embed_dim``) on its zero-filled input; the
concatenated embeddings pass a plain FC autoencoder (``ae_layers``, LeakyReLU; ReLU on the output);
per-modality FC decoders map the reconstructed embedding back to the input features, and an FC
classifier reads the reconstructed embedding. Utterance-level: no conversational context.
Auxiliary loss: ``recon_weight`` x the reconstruction loss of the features (the missing ones when
``complete`` is given, as in the original; else the present ones), jointly optimised with the task.
Defaults: GCNet repository's IEMOCAP command (embed 128, cls 128,128, AE 256,128, dropout 0.5,
mse weight 0.2).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from iteach_app.model.baselines._common import IncompleteBaseline, fc_stack, reconstruction_loss
from iteach_app.model.registry import register_model


class FcAutoencoder(nn.Module):
    """Plain FC autoencoder (dim -> ae_layers -> dim); forward returns the reconstruction."""

    def __init__(self, dim: int, layers: Sequence[int]) -> None:
        super().__init__()
        widths = [dim, *layers]
        enc: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            enc += [nn.Linear(a, b), nn.LeakyReLU()]
        back = widths[::-1]
        dec: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(back)):
            dec += [nn.Linear(a, b), nn.ReLU() if i == len(back) - 2 else nn.LeakyReLU()]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


@register_model("ae", label="AE", paper_parameters=1.29e6)
class AE(IncompleteBaseline):
    """Autoencoder imputation baseline; see the module docstring."""

    uses_speakers = False

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        embed_dim: int = 128,
        cls_layers: Sequence[int] = (128, 128),
        ae_layers: Sequence[int] = (256, 128),
        dropout: float = 0.5,
        recon_weight: float = 0.2,
    ) -> None:
        super().__init__(modality_dims, out_dim)
        self.recon_weight = recon_weight
        fused = embed_dim * len(self.modalities)
        self.encoders = nn.ModuleDict(
            {m: fc_stack(d, cls_layers, embed_dim, dropout) for m, d in self.modality_dims.items()}
        )
        self.decoders = nn.ModuleDict(
            {m: fc_stack(fused, cls_layers, d, dropout) for m, d in self.modality_dims.items()}
        )
        self.autoencoder = self._make_autoencoder(fused, ae_layers)
        self.classifier = fc_stack(fused, cls_layers, out_dim, dropout)

    def _make_autoencoder(self, dim: int, layers: Sequence[int]) -> nn.Module:
        return FcAutoencoder(dim, layers)

    def _forward(self, features, utterance_mask, present, speakers, complete):
        embedded = torch.cat([self.encoders[m](features[m]) for m in self.modalities], dim=-1)
        imputed = self.autoencoder(embedded)
        recon = {m: self.decoders[m](imputed) for m in self.modalities}
        targets, weight = self._recon_targets(features, present, utterance_mask, complete)
        self._aux = self.recon_weight * reconstruction_loss(
            recon, targets, weight, utterance_mask.sum()
        )
        return self.classifier(imputed)
