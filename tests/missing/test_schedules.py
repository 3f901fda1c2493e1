"""Schedules: Constant, RandomRate, Progressive and parse_schedule."""

from __future__ import annotations

import pytest
import torch

from missing_modality import Constant, Progressive, RandomRate, parse_schedule, rate_grid

GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def test_rate_grid_has_clean_values() -> None:
    assert rate_grid() == GRID
    assert rate_grid(0.5, 0.25) == (0.0, 0.25, 0.5)


def test_constant() -> None:
    assert Constant(0.3)(0, 0) == 0.3
    assert Constant(0.3)(99, 7) == 0.3
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Constant(1.0)


def test_random_rate_draws_every_grid_value_reproducibly() -> None:
    drawn = [RandomRate()(0, 0)] + [RandomRate(seed=0)(0, 0) for _ in range(2)]
    assert len(set(drawn)) == 1
    schedule = RandomRate(seed=0)
    sequence = [schedule(0, step) for step in range(400)]
    assert set(sequence) == set(GRID)
    assert [RandomRate(seed=1)(0, step) for step in range(400)] != sequence
    with_generator = [schedule(0, 0, generator=torch.Generator().manual_seed(9)) for _ in range(3)]
    assert len(set(with_generator)) == 1
    assert RandomRate(0.5)(0, 0) in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def test_progressive() -> None:
    schedule = Progressive()
    rates = {epoch: schedule(epoch, 0) for epoch in (0, 9, 10, 19, 20, 60, 69, 70, 200)}
    assert rates == {0: 0.0, 9: 0.0, 10: 0.1, 19: 0.1, 20: 0.2, 60: 0.6, 69: 0.6, 70: 0.7, 200: 0.7}
    assert Progressive(0.2, 5, 0.5, start=0.1)(5, 0) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="every must be >= 1"):
        Progressive(every=0)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("constant:0.3", Constant),
        ("0.25", Constant),
        ("random", RandomRate),
        ("random:0.5", RandomRate),
        ("progressive", Progressive),
        ("progressive:0.05:4:0.6", Progressive),
        ("progressive:0.1:10:0.7:0.2", Progressive),
    ],
)
def test_parse_schedule_round_trips_through_repr(spec: str, kind: type) -> None:
    schedule = parse_schedule(spec)
    assert isinstance(schedule, kind)
    rebuilt = parse_schedule(repr(schedule))
    assert repr(rebuilt) == repr(schedule)
    epochs = range(0, 80, 7)
    assert [rebuilt(epoch, 0) for epoch in epochs] == [schedule(epoch, 0) for epoch in epochs]


@pytest.mark.parametrize("spec", ["", "sometimes", "constant", "constant:1.2", "progressive:x"])
def test_parse_schedule_errors(spec: str) -> None:
    with pytest.raises(ValueError, match="schedule spec"):
        parse_schedule(spec)
