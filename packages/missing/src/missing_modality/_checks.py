"""Argument checks shared by the package; each error names the bad value."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real


def check_rate(rate: float, name: str = "rate") -> float:
    """Return ``rate`` as a float after checking it lies in [0, 1)."""
    if isinstance(rate, bool) or not isinstance(rate, Real):
        raise TypeError(f"{name} must be a real number in [0, 1), got {rate!r}")
    value = float(rate)
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {rate!r}")
    return value


def check_int(value: int, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_keep_at_least(keep_at_least: int, num_modalities: int) -> int:
    """Return ``keep_at_least`` after checking 0 <= keep_at_least <= num_modalities."""
    keep = check_int(keep_at_least, "keep_at_least")
    if keep > num_modalities:
        raise ValueError(
            f"keep_at_least={keep} exceeds the number of modalities ({num_modalities})"
        )
    return keep


def check_rates(rates: Iterable[float]) -> tuple[float, ...]:
    """Return the rates sorted ascending after checking each is in [0, 1) and none repeats."""
    values = [check_rate(rate, "each rate") for rate in rates]
    if not values:
        raise ValueError("rates must hold at least one rate")
    if len(set(values)) != len(values):
        raise ValueError(f"rates must not repeat, got {values}")
    return tuple(sorted(values))
