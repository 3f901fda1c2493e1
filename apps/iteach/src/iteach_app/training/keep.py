"""The effective `keep_at_least` of a run: one rule for training masks, selection and `evaluate`.

Unset (None) means 1 with several modalities and 0 with a single one: keeping one modality of
one leaves nothing to mask, so UME would be flat and distillation would see no missing input.
"""

from __future__ import annotations

from iteach_app.config import TrainConfig


def effective_keep_at_least(config: TrainConfig, num_modalities: int) -> int:
    """Modalities always kept per utterance: the configured value (default 1, or 0 with one
    modality), capped at ``num_modalities``."""
    if config.keep_at_least is None:
        return 0 if num_modalities == 1 else 1
    return min(config.keep_at_least, num_modalities)


def single_modality_note(config: TrainConfig, num_modalities: int) -> str | None:
    """The console note for the one-modality default, or None when it does not apply."""
    if config.keep_at_least is None and num_modalities == 1:
        return (
            "one modality: keep_at_least defaults to 0 (whole utterances are masked, so UME and "
            "distillation see missing input; set --keep-at-least to override)"
        )
    return None
