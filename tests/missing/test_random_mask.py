"""random_mask: the exact missing-rate rule (count, keep_at_least, saturation, seeds, errors)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from missing_modality import (
    DEFAULT_RATES,
    effective_rate,
    mask_with_count,
    missing_count,
    missing_fraction,
    random_mask,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("keep_at_least", [1, 0])
@pytest.mark.parametrize("num_modalities", [1, 2, 3])
def test_ten_thousand_rows_every_rate(num_modalities: int, keep_at_least: int) -> None:
    for rate in DEFAULT_RATES:
        mask = random_mask(
            10_000, num_modalities, rate, generator=generator(7), keep_at_least=keep_at_least
        )
        assert mask.shape == (10_000, num_modalities)
        assert mask.dtype == torch.bool
        if keep_at_least:
            assert bool((mask.sum(dim=1) >= 1).all()), (num_modalities, rate)
        target = min(rate, (num_modalities - keep_at_least) / num_modalities)
        assert abs(missing_fraction(mask) - target) <= 0.005, (num_modalities, rate)
        again = random_mask(
            10_000, num_modalities, rate, generator=generator(7), keep_at_least=keep_at_least
        )
        assert torch.equal(mask, again)


def test_realised_count_is_exact() -> None:
    for rate in (0.0, 0.05, 0.1, 1 / 3, 0.5, 0.65, 0.7, 0.99):
        mask = random_mask(997, 3, rate, generator=generator())
        expected = math.floor(min(rate, 2 / 3) * 997 * 3 + 0.5)
        assert int((~mask).sum()) == expected == missing_count(997, 3, rate)


def test_worked_example() -> None:
    assert missing_count(4, 3, 0.5) == 6
    assert missing_count(4, 3, 0.7) == 8
    assert missing_count(4, 3, 0.1) == 1
    assert missing_count(4, 3, 0.7, keep_at_least=0) == 8
    assert effective_rate(0.7, 3) == pytest.approx(2 / 3)
    mask = random_mask(4, 3, 0.5, generator=generator())
    assert int((~mask).sum()) == 6
    assert bool((mask.sum(dim=1) >= 1).all())


def test_saturation_keeps_exactly_one_modality() -> None:
    mask = random_mask(500, 3, 0.7, generator=generator())
    assert bool((mask.sum(dim=1) == 1).all())


def test_rate_zero_drops_nothing_and_single_modality_saturates_at_zero() -> None:
    assert bool(random_mask(300, 3, 0.0, generator=generator()).all())
    assert bool(random_mask(300, 1, 0.6, generator=generator()).all())


def test_keep_at_least_zero_blanks_whole_rows() -> None:
    mask = random_mask(1000, 3, 0.7, generator=generator(), keep_at_least=0)
    assert int((~mask).sum()) == 2100
    assert bool((mask.sum(dim=1) == 0).any())
    single = random_mask(1000, 1, 0.3, generator=generator(), keep_at_least=0)
    assert int((~single).sum()) == 300


def test_keep_at_least_two() -> None:
    mask = random_mask(400, 3, 0.6, generator=generator(), keep_at_least=2)
    assert bool((mask.sum(dim=1) >= 2).all())
    assert missing_fraction(mask) == pytest.approx(1 / 3, abs=1 / 2400)


def test_seeds_differ_and_modalities_are_treated_alike() -> None:
    first = random_mask(3000, 3, 0.4, generator=generator(1))
    second = random_mask(3000, 3, 0.4, generator=generator(2))
    assert not torch.equal(first, second)
    per_modality = (~first).float().mean(dim=0)
    assert torch.allclose(per_modality, torch.full((3,), 0.4), atol=0.03)


def test_empty_and_generator_device() -> None:
    assert random_mask(0, 3, 0.5, generator=generator()).shape == (0, 3)
    assert random_mask(5, 2, 0.5, generator=generator()).device == torch.device("cpu")


@settings(max_examples=60, deadline=None)
@given(
    num_rows=st.integers(0, 60),
    num_modalities=st.integers(1, 5),
    keep=st.integers(0, 5),
    rate=st.floats(0.0, 0.999),
    seed=st.integers(0, 2**31),
)
def test_any_shape_keeps_the_contract(
    num_rows: int, num_modalities: int, keep: int, rate: float, seed: int
) -> None:
    keep = min(keep, num_modalities)
    mask = random_mask(
        num_rows, num_modalities, rate, generator=generator(seed), keep_at_least=keep
    )
    assert int((~mask).sum()) == missing_count(num_rows, num_modalities, rate, keep_at_least=keep)
    assert bool((mask.sum(dim=1) >= keep).all())
    if num_rows:
        target = min(rate, (num_modalities - keep) / num_modalities)
        assert abs(missing_fraction(mask) - target) <= 0.5 / (num_rows * num_modalities) + 1e-12


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_rate_out_of_range(rate: float) -> None:
    with pytest.raises(ValueError, match=r"rate must lie in \[0, 1\)"):
        random_mask(10, 3, rate, generator=generator())


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="rate must be a real number"):
        random_mask(10, 3, True, generator=generator())
    with pytest.raises(ValueError, match="keep_at_least=4 exceeds"):
        random_mask(10, 3, 0.1, generator=generator(), keep_at_least=4)
    with pytest.raises(ValueError, match="num_modalities must be >= 1"):
        random_mask(10, 0, 0.1, generator=generator())
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        random_mask(10, 3, 0.1, generator=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot drop 21 cells"):
        mask_with_count(10, 3, 21, generator=generator())


def test_missing_fraction_ignores_padding() -> None:
    present = torch.tensor([[[True, False], [False, False]], [[True, True], [False, True]]])
    utterance_mask = torch.tensor([[True, False], [True, True]])
    assert missing_fraction(present, utterance_mask) == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="does not match present"):
        missing_fraction(present, utterance_mask[:, :1])
    with pytest.raises(ValueError, match="at least one valid row"):
        missing_fraction(present, torch.zeros(2, 2, dtype=torch.bool))
