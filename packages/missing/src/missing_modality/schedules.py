"""Missing-rate schedules for training: the rate to mask with at a given (epoch, step)."""

from __future__ import annotations

import math
from typing import Protocol

import torch

from missing_modality._checks import check_int, check_rate


class Schedule(Protocol):
    """A training-time missing-rate schedule."""

    def __call__(
        self, epoch: int, step: int, *, generator: torch.Generator | None = None
    ) -> float: ...


def rate_grid(max_rate: float = 0.7, step: float = 0.1) -> tuple[float, ...]:
    """The rates ``0, step, 2 step, ...`` up to ``max_rate`` inclusive, rounded to 10 decimals."""
    max_rate = check_rate(max_rate, "max_rate")
    if not math.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a positive number, got {step!r}")
    count = math.floor(max_rate / step + 1e-9)
    return tuple(round(index * step, 10) for index in range(count + 1))


class Constant:
    """The same rate at every step."""

    def __init__(self, rate: float) -> None:
        self.rate = check_rate(rate)

    def __call__(self, epoch: int, step: int, *, generator: torch.Generator | None = None) -> float:
        return self.rate

    def __repr__(self) -> str:
        return f"constant:{self.rate!r}"


class RandomRate:
    """A new rate per batch, drawn uniformly from ``{0, step, ..., max_rate}`` (as GCNet trains).

    Draws from ``generator`` when given, else from the schedule's own generator seeded by ``seed``.
    """

    def __init__(self, max_rate: float = 0.7, step: float = 0.1, *, seed: int = 0) -> None:
        self.rates = rate_grid(max_rate, step)
        self.max_rate, self.step = float(max_rate), float(step)
        self._generator = torch.Generator().manual_seed(check_int(seed, "seed"))

    def __call__(self, epoch: int, step: int, *, generator: torch.Generator | None = None) -> float:
        source = self._generator if generator is None else generator
        index = torch.randint(len(self.rates), (1,), generator=source, device=source.device)
        return self.rates[int(index)]

    def __repr__(self) -> str:
        return f"random:{self.max_rate!r}:{self.step!r}"


class Progressive:
    """``start + step * (epoch // every)`` capped at ``max_rate``: +0.1 every 10 epochs to 0.7."""

    def __init__(
        self, step: float = 0.1, every: int = 10, max_rate: float = 0.7, *, start: float = 0.0
    ) -> None:
        if not math.isfinite(step) or step <= 0:
            raise ValueError(f"step must be a positive number, got {step!r}")
        self.step = float(step)
        self.every = check_int(every, "every", minimum=1)
        self.max_rate = check_rate(max_rate, "max_rate")
        self.start = check_rate(start, "start")

    def __call__(self, epoch: int, step: int, *, generator: torch.Generator | None = None) -> float:
        epoch = check_int(epoch, "epoch")
        return min(self.max_rate, round(self.start + self.step * (epoch // self.every), 10))

    def __repr__(self) -> str:
        text = f"progressive:{self.step!r}:{self.every}:{self.max_rate!r}"
        return text if self.start == 0 else f"{text}:{self.start!r}"


def parse_schedule(spec: str) -> Constant | RandomRate | Progressive:
    """Build a schedule from text: ``constant:R``, ``random[:MAX[:STEP]]``,
    ``progressive[:STEP[:EVERY[:MAX[:START]]]]``, or a bare rate ``R``; ``repr`` gives it back."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"schedule spec must be a non-empty string, got {spec!r}")
    kind, *args = spec.strip().lower().split(":")
    try:
        if kind == "constant" and len(args) == 1:
            return Constant(float(args[0]))
        if kind == "random" and len(args) <= 2:
            return RandomRate(*map(float, args))
        if kind == "progressive" and len(args) <= 4:
            converters = (float, int, float, float)
            values = [convert(arg) for convert, arg in zip(converters, args, strict=False)]
            return Progressive(*values[:3], **({"start": values[3]} if len(values) == 4 else {}))
        if not args and _is_number(kind):
            return Constant(float(kind))
    except ValueError as error:
        raise ValueError(f"bad schedule spec {spec!r}: {error}") from None
    raise ValueError(
        f"unknown schedule spec {spec!r}; use 'constant:R', 'random[:MAX[:STEP]]', "
        "'progressive[:STEP[:EVERY[:MAX[:START]]]]' or a bare rate"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
