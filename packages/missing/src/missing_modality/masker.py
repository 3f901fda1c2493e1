"""ModalityMasker: drop modalities of real utterances (never padding) and zero-fill them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from missing_modality._checks import check_int, check_keep_at_least
from missing_modality.random_mask import mask_with_count, missing_count


class MaskedFeatures(NamedTuple):
    """``features`` name -> (B, L, D_m), zero where missing; ``present`` (B, L, M) bool."""

    features: dict[str, torch.Tensor]
    present: torch.Tensor


class ModalityMasker:
    """Apply ``random_mask`` to a batch's valid utterances and zero-fill the dropped modalities.

    ``modalities`` fixes the order of the last axis of ``present`` (default: the features' order).
    The rate is realised over the batch's valid utterances only: padding is never masked or counted,
    and ``present`` is False on padding.
    """

    def __init__(self, modalities: Sequence[str] | None = None, *, keep_at_least: int = 1) -> None:
        if modalities is not None:
            if isinstance(modalities, str):
                raise TypeError(
                    f"modalities must be a sequence of names, got the string {modalities!r}"
                )
            modalities = tuple(modalities)
            if not modalities or len(set(modalities)) != len(modalities):
                raise ValueError(f"modalities must be non-empty and distinct, got {modalities}")
            check_keep_at_least(keep_at_least, len(modalities))
        self.modalities = modalities
        self.keep_at_least = check_int(keep_at_least, "keep_at_least")

    def __repr__(self) -> str:
        return f"ModalityMasker(modalities={self.modalities}, keep_at_least={self.keep_at_least})"

    def __call__(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        rate: float,
        *,
        generator: torch.Generator,
    ) -> MaskedFeatures:
        """Mask ``round(min(rate, (M - k) / M) * N_valid * M)`` cells of the valid utterances."""
        names = self._checked_names(features, utterance_mask)
        num_valid = int(utterance_mask.sum())
        count = missing_count(num_valid, len(names), rate, keep_at_least=self.keep_at_least)
        return self._mask(features, utterance_mask, names, count, generator)

    def by_count(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        num_missing: int,
        *,
        generator: torch.Generator,
    ) -> MaskedFeatures:
        """Mask exactly ``num_missing`` (utterance, modality) cells of the valid utterances."""
        names = self._checked_names(features, utterance_mask)
        return self._mask(features, utterance_mask, names, num_missing, generator)

    def _mask(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        names: tuple[str, ...],
        num_missing: int,
        generator: torch.Generator,
    ) -> MaskedFeatures:
        rows = mask_with_count(
            int(utterance_mask.sum()),
            len(names),
            num_missing,
            generator=generator,
            keep_at_least=self.keep_at_least,
        )
        device = features[names[0]].device
        present = torch.zeros(*utterance_mask.shape, len(names), dtype=torch.bool, device=device)
        present[utterance_mask.to(device)] = rows.to(device)
        return MaskedFeatures(zero_fill(features, present, utterance_mask, names), present)

    def _checked_names(
        self, features: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor
    ) -> tuple[str, ...]:
        names = self._names(features)
        self._check(features, utterance_mask, names)
        check_keep_at_least(self.keep_at_least, len(names))
        return names

    def _names(self, features: Mapping[str, torch.Tensor]) -> tuple[str, ...]:
        if not isinstance(features, Mapping) or not features:
            raise TypeError(
                "features must be a non-empty mapping of modality name -> (B, L, D) tensor"
            )
        if self.modalities is None:
            return tuple(features)
        absent = [name for name in self.modalities if name not in features]
        extra = [name for name in features if name not in self.modalities]
        if absent or extra:
            raise ValueError(
                f"features keys {sorted(features)} do not match the masker's modalities "
                f"{list(self.modalities)} (missing: {absent}, unexpected: {extra})"
            )
        return self.modalities

    @staticmethod
    def _check(
        features: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor, names: tuple[str, ...]
    ) -> None:
        if not isinstance(utterance_mask, torch.Tensor) or utterance_mask.dtype != torch.bool:
            raise TypeError("utterance_mask must be a (B, L) bool tensor")
        if utterance_mask.dim() != 2:
            raise ValueError(
                f"utterance_mask must be (B, L), got shape {tuple(utterance_mask.shape)}"
            )
        for name in names:
            value = features[name]
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"features[{name!r}] must be a tensor, got {type(value).__name__}")
            if value.dim() != 3 or value.shape[:2] != utterance_mask.shape:
                raise ValueError(
                    f"features[{name!r}] has shape {tuple(value.shape)}; expected "
                    f"(B, L, D) with (B, L) = {tuple(utterance_mask.shape)} from utterance_mask"
                )


def zero_fill(
    features: Mapping[str, torch.Tensor],
    present: torch.Tensor,
    utterance_mask: torch.Tensor,
    modalities: Sequence[str],
    *,
    inplace: bool = False,
) -> dict[str, torch.Tensor]:
    """Zero ``features[m]`` where modality ``m`` is missing on a valid utterance (not padding).

    ``present`` is (B, L, M) bool in the order of ``modalities``; returns new tensors, or with
    ``inplace`` fills the given ones (a caller's own copies: one pass over them less).
    """
    valid = utterance_mask.to(present.device)
    filled = dict(features)
    for index, name in enumerate(modalities):
        value = features[name]
        dropped = (valid & ~present[..., index]).to(value.device).unsqueeze(-1)
        filled[name] = (
            value.masked_fill_(dropped, 0.0) if inplace else value.masked_fill(dropped, 0.0)
        )
    return filled
