"""The model contract: everything the training, evaluation and plotting code may ask of a model.

A model the app trains (ITEACH-Net, each baseline) derives from `ModelContract` and overrides
only what it has; the defaults below are what a plain model means. The training code reads these
attributes directly instead of probing with getattr/hasattr, so a capability is one visible
override in the model's class, and a new model gets a working default for the rest.

Forward: ``model(features=..., utterance_mask=..., present=...)`` with ``features`` modality ->
(B, L, D_m), ``utterance_mask`` (B, L) bool and ``present`` (B, L, M) bool in the order of
``modalities``; plus ``speakers=`` (B, L) long where ``uses_speakers`` and, in training only,
``complete=`` (the unmasked features) where ``takes_complete``. Returns (B, L, out_dim).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn


class ModelContract(nn.Module):
    """Base class of the app's models: the capabilities the training code reads, with defaults.

    Subclasses set ``modalities`` (the input order of ``present``'s last axis) and
    ``modality_dims`` in ``__init__``.
    """

    modalities: tuple[str, ...]
    modality_dims: dict[str, int]
    uses_speakers: bool = False
    """forward takes ``speakers`` (B, L) long (the speaker of each utterance)."""
    takes_complete: bool = False
    """In training, forward also takes ``complete=`` the unmasked features (imputation targets)."""
    supports_pretraining: bool = False
    """The model has a pre-training phase (`pretrain_loss`, `finish_pretraining`)."""
    exposes_hidden_states: bool = False
    """`hidden_layer_paths` names the fused hidden states (distillation, t-SNE, ECCE heatmap)."""

    def auxiliary_loss(self) -> Tensor | None:
        """A scalar computed during the last forward that training adds to the task loss (e.g. a
        reconstruction loss), or None: no auxiliary loss."""
        return None

    def parameter_groups(self, lr: float, router_lr: float, weight_decay: float) -> list[dict]:
        """The model's own AdamW groups (dicts with params, lr, weight_decay, name); [] means
        none: the optimizer puts the model's parameters in one group at ``lr``."""
        return []

    def hidden_layer_paths(self, k: int = 3) -> list[str]:
        """Module paths of the last ``k`` hidden states, nearest the output first (forward hooks
        read them); only a model with ``exposes_hidden_states`` has them."""
        raise NotImplementedError(f"{type(self).__name__} exposes no hidden states")

    def pretrain_loss(
        self,
        features: Mapping[str, Tensor],
        utterance_mask: Tensor,
        labels: Tensor,
        speakers: Tensor | None = None,
    ) -> Tensor:
        """The pre-training phase's loss on complete ``features`` (a model that
        ``supports_pretraining``)."""
        raise NotImplementedError(f"{type(self).__name__} has no pre-training phase")

    def finish_pretraining(self) -> None:
        """End the pre-training phase (called once, at the first step after it)."""
        raise NotImplementedError(f"{type(self).__name__} has no pre-training phase")

    @property
    def pretraining_finished(self) -> bool:
        """True once the model is in its after-pre-training state (always, without a phase)."""
        return True

    def enter_after_pretraining(self) -> None:
        """Put the model in its after-pre-training state without redoing the phase's end (a run
        resumed after it: the weights the end produced come from the checkpoint)."""
        raise NotImplementedError(f"{type(self).__name__} has no pre-training phase")
