"""Shared parts of the baselines: input checks, FC stacks, masked reconstruction loss, base class.

Every baseline takes ``features`` modality -> (B, L, D_m) with missing modalities zero-filled,
``utterance_mask`` (B, L) bool, ``present`` (B, L, M) bool in the order of ``modality_dims``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from iteach_app.model.layers.standardize import FeatureStandardizer
from iteach_app.model.protocol import ModelContract


def fc_stack(in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float) -> nn.Sequential:
    """(Linear, ReLU, Dropout) per hidden width, then a Linear to ``out_dim`` (MMIN's FC stack)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def reconstruction_loss(
    recon: Mapping[str, Tensor], target: Mapping[str, Tensor], weight: Tensor, num_real: Tensor
) -> Tensor:
    """GCNet/MMIN's loss: sum over modalities of the per-dimension mean squared error, weighted by
    ``weight`` (B, L, M) (1 where the term counts), divided by the number of real utterances."""
    total = weight.new_zeros(())
    for m, name in enumerate(recon):
        err = (recon[name] - target[name]).pow(2).mean(dim=-1)
        total = total + (err * weight[..., m]).sum()
    return total / num_real.clamp(min=1)


class IncompleteBaseline(ModelContract):
    """Base of the five baselines: checks inputs, standardises them (``standardizer``, identity
    until the trainer loads the training split's statistics), keeps the last auxiliary loss.

    Subclasses implement ``_forward(features, utterance_mask, present, speakers, complete)``
    returning (B, L, out_dim) logits and set ``self._aux`` (a scalar tensor).
    """

    takes_complete = True  # forward(..., complete=) takes the unmasked features in training
    # What makes an utterance's output depend on later utterances ("" = nothing: the model reads
    # each utterance alone, so it is causal as it is and a --causal run trains it unchanged).
    future_context: str = ""

    def __init__(self, modality_dims: Mapping[str, int], out_dim: int) -> None:
        super().__init__()
        if not isinstance(modality_dims, Mapping) or not modality_dims:
            raise ValueError(
                f"modality_dims must be a non-empty dict name -> width, got {modality_dims!r}"
            )
        for name, dim in modality_dims.items():
            if not isinstance(name, str) or not isinstance(dim, int) or dim < 1:
                raise ValueError(
                    f"modality_dims[{name!r}] must be a positive int width, got {dim!r}"
                )
        if not isinstance(out_dim, int) or out_dim < 1:
            raise ValueError(f"out_dim must be a positive int (1 = regression), got {out_dim!r}")
        self.modality_dims = dict(modality_dims)
        self.modalities = tuple(modality_dims)
        self.out_dim = out_dim
        self.standardizer = FeatureStandardizer(self.modality_dims)
        self._aux: Tensor = torch.zeros(())

    def auxiliary_loss(self) -> Tensor:
        """The extra losses of the last forward call (scalar), computed on real utterances only."""
        return self._aux

    def inference_parameters(self) -> int:
        """Number of parameters used at inference (a complete-data teacher is not counted)."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("teacher."))

    def forward(
        self,
        features: Mapping[str, Tensor],
        utterance_mask: Tensor,
        present: Tensor | None = None,
        speakers: Tensor | None = None,
        *,
        complete: Mapping[str, Tensor] | None = None,
    ) -> Tensor:
        """(B, L, out_dim) logits. ``complete``: the unmasked features, optional; when given, the
        reconstruction targets of missing modalities (the original methods' imputation loss);
        without it the auxiliary loss reconstructs the present modalities only."""
        present = self._check(features, utterance_mask, present, speakers)
        feats = self.standardizer(features, utterance_mask, present)
        if complete is not None:
            self._check(complete, utterance_mask, None, None, what="complete")
            complete = self.standardizer(complete, utterance_mask)
        return self._forward(feats, utterance_mask, present, speakers, complete)

    def _forward(
        self,
        features: dict[str, Tensor],
        utterance_mask: Tensor,
        present: Tensor,
        speakers: Tensor | None,
        complete: dict[str, Tensor] | None,
    ) -> Tensor:
        raise NotImplementedError

    def _recon_targets(
        self, features: dict[str, Tensor], present: Tensor, utterance_mask: Tensor,
        complete: dict[str, Tensor] | None,
    ) -> tuple[dict[str, Tensor], Tensor]:  # fmt: skip
        """Targets and (B, L, M) weights: missing parts of ``complete`` if given, else present."""
        real = utterance_mask.unsqueeze(-1)
        if complete is not None:
            return complete, (real & ~present).to(features[self.modalities[0]].dtype)
        return features, (real & present).to(features[self.modalities[0]].dtype)

    def _check(
        self,
        features: Mapping[str, Tensor],
        utterance_mask: Tensor,
        present: Tensor | None,
        speakers: Tensor | None,
        what: str = "features",
    ) -> Tensor:
        """Raise a clear error on bad input; return ``present`` (B, L, M) bool (None: all True)."""
        name = type(self).__name__
        if not isinstance(features, Mapping):
            raise TypeError(
                f"{name}: {what} must be a dict modality -> (B, L, D), got {type(features)}"
            )
        unknown = sorted(set(features) - set(self.modalities))
        lacking = [m for m in self.modalities if m not in features]
        if unknown or lacking:
            raise KeyError(
                f"{name}: {what} has modalities {sorted(features)}, the model was built for "
                f"{list(self.modalities)} (unknown: {unknown}, lacking: {lacking})"
            )
        if not isinstance(utterance_mask, Tensor) or utterance_mask.dim() != 2:
            shape = getattr(utterance_mask, "shape", type(utterance_mask).__name__)
            raise ValueError(f"{name}: utterance_mask must be a (B, L) bool tensor, got {shape}")
        if utterance_mask.dtype != torch.bool:
            raise TypeError(f"{name}: utterance_mask must be bool, got {utterance_mask.dtype}")
        b, length = utterance_mask.shape
        for m in self.modalities:
            x = features[m]
            expected = (b, length, self.modality_dims[m])
            if not isinstance(x, Tensor) or tuple(x.shape) != expected:
                shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
                raise ValueError(
                    f"{name}: {what}[{m!r}] has shape {shape}, expected (B, L, D) = {expected}"
                )
            if not x.is_floating_point():
                raise TypeError(f"{name}: {what}[{m!r}] must be floating point, got {x.dtype}")
        if speakers is not None and (
            not isinstance(speakers, Tensor) or tuple(speakers.shape) != (b, length)
        ):
            shape = (
                tuple(speakers.shape) if isinstance(speakers, Tensor) else type(speakers).__name__
            )
            raise ValueError(f"{name}: speakers has shape {shape}, expected (B, L) = {(b, length)}")
        if present is None:
            return utterance_mask.unsqueeze(-1).expand(b, length, len(self.modalities)).clone()
        expected = (b, length, len(self.modalities))
        if not isinstance(present, Tensor) or tuple(present.shape) != expected:
            shape = tuple(present.shape) if isinstance(present, Tensor) else type(present).__name__
            raise ValueError(
                f"{name}: present has shape {shape}, expected (B, L, M) = {expected} in the order "
                f"{list(self.modalities)}"
            )
        if present.dtype != torch.bool:
            raise TypeError(f"{name}: present must be bool, got {present.dtype}")
        return present & utterance_mask.unsqueeze(-1)
