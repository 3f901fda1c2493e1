"""conversation_mask: keyed by (seed, rate, id), keeps keep_at_least, rounds down or up."""

from __future__ import annotations

import math

import pytest
import torch

from missing_modality import conversation_mask, effective_rate


@pytest.mark.parametrize("keep", [0, 1, 2])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.45, 0.7])
def test_rows_keep_and_counts_round_down_or_up(keep: int, rate: float) -> None:
    for n in (1, 2, 5, 17):
        mask = conversation_mask(n, 3, rate, seed=1, conversation_id=f"c{n}", keep_at_least=keep)
        assert mask.shape == (n, 3)
        assert mask.dtype == torch.bool
        assert (mask.sum(1) >= keep).all()
        target = effective_rate(rate, 3, keep_at_least=keep) * n * 3
        assert math.floor(target + 1e-9) <= int((~mask).sum()) <= math.ceil(target - 1e-9)


def test_same_key_same_mask_other_key_other_mask() -> None:
    first = conversation_mask(30, 3, 0.5, seed=0, conversation_id="a")
    assert torch.equal(first, conversation_mask(30, 3, 0.5, seed=0, conversation_id="a"))
    assert not torch.equal(first, conversation_mask(30, 3, 0.5, seed=0, conversation_id="b"))
    assert not torch.equal(first, conversation_mask(30, 3, 0.5, seed=1, conversation_id="a"))


def test_the_rate_is_unbiased_for_one_utterance_conversations() -> None:
    """Rounding to nearest would drop nothing at 0.1 (0.3 cells); random rounding keeps the rate."""
    dropped = sum(
        int((~conversation_mask(1, 3, 0.1, seed=0, conversation_id=i)).sum()) for i in range(3000)
    )
    assert abs(dropped / 9000 - 0.1) < 0.01
