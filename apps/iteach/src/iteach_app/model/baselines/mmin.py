"""MMIN baseline: CRA plus cycle-consistency imagination, guided by a complete-data teacher.

Zhao et al.'s Missing Modality Imagination Network as run in the GCNet repository (mmin):
per-modality FC encoders embed the zero-filled inputs; a forward cascade of residual autoencoders
imagines the complete joint embedding, a backward cascade maps it back to the incomplete one
(cycle consistency); the classifier reads the forward cascade's latents. The imagination target
is the teacher's joint embedding of the complete features: the teacher (``self.teacher``, the
"utt_fusion" model: the same encoders plus a classifier) is first trained on complete data.

How a training loop uses it:
1. pre-training (e.g. the first N epochs, or a separate run): minimise
   ``pretrain_loss(complete_features, utterance_mask, labels)`` (the teacher alone);
2. call ``finish_pretraining()`` once: it copies the teacher's encoders into the student (as the
   original does) and freezes the teacher (no gradients, kept in eval mode);
3. then train as any baseline on masked inputs, passing ``complete=`` the unmasked features, and
   add ``auxiliary_loss()`` = mse_weight x ||imagined - teacher embedding||^2 + cycle_weight x
   ||cycle - incomplete embedding||^2 to the task loss. Without ``complete`` the imagination
   target is the teacher's embedding of the present modalities only (other blocks ignored).
The teacher is not used at inference and is not counted in ``inference_parameters()``.
Defaults: the README's IEMOCAP command (AE 256,128,64 x 5 blocks, mse 4.0, cycle 2.0,
dropout 0.5; teacher dropout 0.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iteach_app.model.baselines._common import IncompleteBaseline, fc_stack
from iteach_app.model.baselines.cra import ResidualAutoencoder
from iteach_app.model.registry import register_model


class FusionTeacher(nn.Module):
    """MMIN's complete-data teacher: per-modality FC encoders, concatenation, FC classifier."""

    def __init__(
        self, modality_dims: Mapping[str, int], out_dim: int, embed_dim: int,
        cls_layers: Sequence[int], dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.encoders = nn.ModuleDict(
            {m: fc_stack(d, cls_layers, embed_dim, dropout) for m, d in modality_dims.items()}
        )
        self.classifier = fc_stack(embed_dim * len(modality_dims), cls_layers, out_dim, dropout)

    def embed(self, features: Mapping[str, Tensor]) -> Tensor:
        """(B, L, M * embed_dim) joint embedding, modalities in the encoders' order."""
        return torch.cat([enc(features[m]) for m, enc in self.encoders.items()], dim=-1)

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        return self.classifier(self.embed(features))


@register_model("mmin", label="MMIN", paper_parameters=3.87e6)
class MMIN(IncompleteBaseline):
    """Missing Modality Imagination Network; see the module docstring for the training protocol."""

    supports_pretraining = True

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        embed_dim: int = 128,
        cls_layers: Sequence[int] = (128, 128),
        ae_layers: Sequence[int] = (256, 128, 64),
        n_blocks: int = 5,
        dropout: float = 0.5,
        teacher_dropout: float = 0.3,
        mse_weight: float = 4.0,
        cycle_weight: float = 2.0,
    ) -> None:
        super().__init__(modality_dims, out_dim)
        self.embed_dim, self.mse_weight, self.cycle_weight = embed_dim, mse_weight, cycle_weight
        fused = embed_dim * len(self.modalities)
        self.encoders = nn.ModuleDict(
            {m: fc_stack(d, cls_layers, embed_dim, dropout) for m, d in self.modality_dims.items()}
        )
        self.imagination = ResidualAutoencoder(fused, ae_layers, n_blocks)
        self.cycle = ResidualAutoencoder(fused, ae_layers, n_blocks)
        self.classifier = fc_stack(ae_layers[-1] * n_blocks, cls_layers, out_dim, dropout)
        self.teacher = FusionTeacher(
            self.modality_dims, out_dim, embed_dim, cls_layers, teacher_dropout
        )
        self.teacher_frozen = False

    def pretrain_loss(
        self, features: Mapping[str, Tensor], utterance_mask: Tensor, labels: Tensor,
        speakers: Tensor | None = None,
    ) -> Tensor:  # fmt: skip
        """The teacher's task loss on complete ``features`` over real utterances: cross-entropy
        (out_dim > 1, labels (B, L) long) or mean squared error (out_dim 1, labels (B, L) float)."""
        self._check(features, utterance_mask, None, speakers)
        if tuple(labels.shape) != tuple(utterance_mask.shape):
            raise ValueError(f"MMIN.pretrain_loss: labels has shape {tuple(labels.shape)}, "
                             f"expected (B, L) = {tuple(utterance_mask.shape)}")  # fmt: skip
        logits = self.teacher(features)[utterance_mask]
        target = labels[utterance_mask]
        if self.out_dim == 1:
            return F.mse_loss(logits.squeeze(-1), target.to(logits.dtype))
        return F.cross_entropy(logits, target.long())

    def finish_pretraining(self) -> None:
        """Copy the teacher's encoders into the student and freeze the teacher."""
        self.encoders.load_state_dict(self.teacher.encoders.state_dict())
        self.freeze_teacher()

    @property
    def pretraining_finished(self) -> bool:
        """True once the teacher is frozen (after `finish_pretraining` or `freeze_teacher`)."""
        return self.teacher_frozen

    def enter_after_pretraining(self) -> None:
        """The contract's name for `freeze_teacher` (a run resumed after pre-training)."""
        self.freeze_teacher()

    def freeze_teacher(self) -> None:
        """Freeze the teacher without copying (a run resumed after ``finish_pretraining``)."""
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.teacher_frozen = True

    def train(self, mode: bool = True) -> MMIN:
        """As nn.Module.train, but a frozen teacher stays in eval mode."""
        super().train(mode)
        if self.teacher_frozen:
            self.teacher.eval()
        return self

    def _forward(self, features, utterance_mask, present, speakers, complete):
        embedded = torch.cat([self.encoders[m](features[m]) for m in self.modalities], dim=-1)
        imagined, latents = self.imagination.forward_with_latents(embedded)
        cycled = self.cycle(imagined)
        real = utterance_mask.unsqueeze(-1).to(embedded.dtype)
        num = utterance_mask.sum().clamp(min=1) * embedded.shape[-1]
        with torch.no_grad():
            target = self.teacher.embed(features if complete is None else complete)
        if complete is None:
            block = present.to(embedded.dtype).repeat_interleave(self.embed_dim, dim=-1)
        else:
            block = torch.ones_like(embedded)
        imagine = ((imagined - target).pow(2) * block * real).sum() / num
        cycle = ((cycled - embedded.detach()).pow(2) * real).sum() / num
        self._aux = self.mse_weight * imagine + self.cycle_weight * cycle
        return self.classifier(latents)
