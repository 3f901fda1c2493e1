"""The missing-rate definition: an exact, non-iterative version of the field's random_mask rule.

For ``N`` rows (utterances) and ``M`` modalities, a mask ``P`` in {0, 1}^(N x M) has missing rate
``1 - sum(P) / (N * M)``. ``random_mask(N, M, r, keep_at_least=k)`` returns a mask with exactly
``missing_count(N, M, r, keep_at_least=k) = round(min(r, (M - k) / M) * N * M)`` missing cells and
at least ``k`` kept modalities per row, so the realised rate is within ``1 / (2 N M)`` of the
requested one (after saturation at ``(M - k) / M``).
"""

from __future__ import annotations

import math

import torch

from missing_modality._checks import check_int, check_keep_at_least, check_rate


def effective_rate(rate: float, num_modalities: int, *, keep_at_least: int = 1) -> float:
    """The rate a mask can realise: ``min(rate, (M - keep_at_least) / M)``."""
    rate = check_rate(rate)
    num_modalities = check_int(num_modalities, "num_modalities", minimum=1)
    keep = check_keep_at_least(keep_at_least, num_modalities)
    return min(rate, (num_modalities - keep) / num_modalities)


def missing_count(
    num_rows: int, num_modalities: int, rate: float, *, keep_at_least: int = 1
) -> int:
    """Cells ``random_mask`` drops: ``round(effective_rate * N * M)``, halves rounding up."""
    num_rows = check_int(num_rows, "num_rows")
    rate_eff = effective_rate(rate, num_modalities, keep_at_least=keep_at_least)
    capacity = num_rows * (num_modalities - keep_at_least)
    return min(capacity, math.floor(rate_eff * num_rows * num_modalities + 0.5))


def random_mask(
    num_rows: int,
    num_modalities: int,
    rate: float,
    *,
    generator: torch.Generator,
    keep_at_least: int = 1,
) -> torch.Tensor:
    """Draw an ``(N, M)`` bool mask, True = present, with ``missing_count(...)`` cells missing.

    Every row keeps at least ``keep_at_least`` modalities; the fraction saturates at
    ``(M - keep_at_least) / M`` (three modalities at rate 0.7 give 2/3 missing). Rate 0 drops
    nothing.
    """
    count = missing_count(num_rows, num_modalities, rate, keep_at_least=keep_at_least)
    return mask_with_count(
        num_rows, num_modalities, count, generator=generator, keep_at_least=keep_at_least
    )


def mask_with_count(
    num_rows: int,
    num_modalities: int,
    num_missing: int,
    *,
    generator: torch.Generator,
    keep_at_least: int = 1,
) -> torch.Tensor:
    """Draw an ``(N, M)`` bool mask, True = present, with exactly ``num_missing`` cells missing.

    Each row first protects ``keep_at_least`` modalities chosen uniformly at random; the missing
    cells are then a uniformly random subset (without replacement) of the
    ``N * (M - keep_at_least)`` unprotected cells. All randomness comes from ``generator``; the
    result lives on its device.
    """
    num_rows = check_int(num_rows, "num_rows")
    num_modalities = check_int(num_modalities, "num_modalities", minimum=1)
    keep = check_keep_at_least(keep_at_least, num_modalities)
    num_missing = check_int(num_missing, "num_missing")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    capacity = num_rows * (num_modalities - keep)
    if num_missing > capacity:
        raise ValueError(
            f"cannot drop {num_missing} cells from {num_rows} rows x {num_modalities} modalities "
            f"while keeping at least {keep} per row (at most {capacity})"
        )
    device = generator.device
    priority = torch.rand(num_rows, num_modalities, generator=generator, device=device)
    rank = priority.argsort(dim=1).argsort(dim=1)
    droppable = (rank >= keep).reshape(-1).nonzero().squeeze(1)
    chosen = torch.randperm(droppable.numel(), generator=generator, device=device)[:num_missing]
    present = torch.ones(num_rows * num_modalities, dtype=torch.bool, device=device)
    present[droppable[chosen]] = False
    return present.reshape(num_rows, num_modalities)


def missing_fraction(present: torch.Tensor, utterance_mask: torch.Tensor | None = None) -> float:
    """Realised missing rate of ``present`` (..., M) over the rows where ``utterance_mask`` is True.

    Padding rows (``utterance_mask`` False) are never counted. Raises if no row is valid.
    """
    if not isinstance(present, torch.Tensor) or present.dtype != torch.bool or present.dim() < 2:
        raise TypeError("present must be a bool tensor of shape (N, M) or (B, L, M)")
    rows = present.reshape(-1, present.shape[-1])
    if utterance_mask is not None:
        if tuple(utterance_mask.shape) != tuple(present.shape[:-1]):
            raise ValueError(
                f"utterance_mask shape {tuple(utterance_mask.shape)} does not match present "
                f"shape {tuple(present.shape)} without its last (modality) axis"
            )
        rows = rows[utterance_mask.reshape(-1).to(device=rows.device, dtype=torch.bool)]
    if rows.numel() == 0:
        raise ValueError("missing_fraction needs at least one valid row and one modality")
    return 1.0 - rows.double().mean().item()
