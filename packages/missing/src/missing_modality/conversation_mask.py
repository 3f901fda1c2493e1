"""Evaluation masks keyed by conversation: the same conversation gets the same mask in any batch.

A conversation's mask is drawn from a generator seeded by ``(seed, rate, conversation key)`` alone,
so batch size, batch order, device and process count cannot change it. Its number of missing cells
is ``r_eff * n * M`` rounded down or up at random (up with probability equal to the fraction), so
the expected missing rate of every conversation is exactly ``r_eff``.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

from missing_modality._checks import check_int
from missing_modality.random_mask import effective_rate, mask_with_count

_ROUNDING_SLACK = 1e-9  # r * n * M computed in floating point; 3.0000000000000004 counts as 3


def conversation_key(conversation_id: object) -> str:
    """The string a conversation id is keyed by (``str(id)``; ids must not be None or empty)."""
    key = str(conversation_id)
    if conversation_id is None or key == "":
        raise ValueError(f"a conversation id must be a non-empty string or number, got {key!r}")
    return key


def conversation_generator(seed: int, rate: float, conversation_id: object) -> torch.Generator:
    """The CPU generator of ``conversation_id``'s evaluation mask at ``rate`` for ``seed``."""
    seed = check_int(seed, "seed")
    digest = hashlib.sha256(conversation_key(conversation_id).encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    sequence = np.random.SeedSequence([seed, round(rate * 1_000_000), *words])
    return torch.Generator().manual_seed(int(sequence.generate_state(1, np.uint64)[0]))


def conversation_mask(
    num_rows: int,
    num_modalities: int,
    rate: float,
    *,
    seed: int,
    conversation_id: object,
    keep_at_least: int = 1,
) -> torch.Tensor:
    """(num_rows, M) bool CPU mask, True = present, of one conversation's valid utterances.

    Each row keeps at least ``keep_at_least`` modalities; the missing count is
    ``floor(x)`` or ``ceil(x)`` for ``x = effective_rate * num_rows * M`` (``ceil`` with
    probability ``x - floor(x)``), all drawn from `conversation_generator`.
    """
    num_rows = check_int(num_rows, "num_rows")
    rate_eff = effective_rate(rate, num_modalities, keep_at_least=keep_at_least)
    generator = conversation_generator(seed, rate, conversation_id)
    target = rate_eff * num_rows * num_modalities
    base = math.floor(target + _ROUNDING_SLACK)
    fraction = max(0.0, target - base)
    extra = int(fraction > 0 and torch.rand((), generator=generator).item() < fraction)
    capacity = num_rows * (num_modalities - keep_at_least)
    return mask_with_count(
        num_rows,
        num_modalities,
        min(capacity, base + extra),
        generator=generator,
        keep_at_least=keep_at_least,
    )
