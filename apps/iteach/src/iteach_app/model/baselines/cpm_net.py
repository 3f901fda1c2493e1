"""CPM-Net baseline: a common latent space of the present modalities, classified by class centres.

Zhang et al.'s Cross Partial Multi-view Networks, amortised for ERC: the original optimises one
free latent vector per sample (and again per test sample, 300 steps) so that per-view linear
decoders reconstruct the present views, with a clustering-like classification loss on the
latents. Here each utterance's latent (``latent_dim``, 128 as in the GCNet repository's command)
is the mean, over its present modalities, of per-modality linear encodings, so new utterances
need no test-time optimisation; per-modality linear decoders (the repository's single-layer
``layer_size``) reconstruct the present modalities (auxiliary loss x ``recon_weight``).
Predictions: logits[c] = <latent, centre_c>, CPM's similarity to learnable class centres, so
argmax is CPM's nearest-centre rule and cross-entropy on these logits is a smooth form of CPM's
structured hinge; ``cpm_hinge_loss`` gives the original hinge for loops that want it. With
``out_dim`` 1 (regression, which CPM-Net does not define) the "centre" is a single linear
direction. Utterance-level: no conversational context, as the original.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iteach_app.model.baselines._common import IncompleteBaseline, reconstruction_loss
from iteach_app.model.registry import register_model


@register_model("cpm", label="CPM-Net", paper_parameters=None)
class CPMNet(IncompleteBaseline):
    """Amortised CPM-Net; see the module docstring."""

    uses_speakers = False

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        latent_dim: int = 128,
        recon_weight: float = 1.0,
    ) -> None:
        super().__init__(modality_dims, out_dim)
        self.recon_weight = recon_weight
        self.encoders = nn.ModuleDict(
            {m: nn.Linear(d, latent_dim) for m, d in self.modality_dims.items()}
        )
        self.decoders = nn.ModuleDict(
            {m: nn.Linear(latent_dim, d) for m, d in self.modality_dims.items()}
        )
        self.centres = nn.Parameter(torch.randn(out_dim, latent_dim) / latent_dim**0.5)

    def latent(self, features: Mapping[str, Tensor], present: Tensor) -> Tensor:
        """(B, L, latent_dim): mean of the present modalities' encodings (0 where none)."""
        weight = present.to(features[self.modalities[0]].dtype)
        total = sum(
            self.encoders[m](features[m]) * weight[..., i : i + 1]
            for i, m in enumerate(self.modalities)
        )
        return total / weight.sum(-1, keepdim=True).clamp(min=1)

    def _forward(self, features, utterance_mask, present, speakers, complete):
        h = self.latent(features, present)
        recon = {m: self.decoders[m](h) for m in self.modalities}
        weight = (present & utterance_mask.unsqueeze(-1)).to(h.dtype)
        self._aux = self.recon_weight * reconstruction_loss(
            recon, features, weight, utterance_mask.sum()
        )
        return h @ self.centres.T

    @staticmethod
    def cpm_hinge_loss(logits: Tensor, labels: Tensor, utterance_mask: Tensor) -> Tensor:
        """CPM's hinge: mean over real utterances of max_c (1[c != y] + s_c) - s_y; s (B, L, C)."""
        s, y = logits[utterance_mask], labels[utterance_mask].long()
        margin = 1.0 - F.one_hot(y, s.shape[-1]).to(s.dtype)
        return ((margin + s).amax(-1) - s.gather(-1, y.unsqueeze(-1)).squeeze(-1)).mean()
