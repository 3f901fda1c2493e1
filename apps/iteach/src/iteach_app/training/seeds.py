"""Seeds derived from (seed, purpose, epoch, step, ...): stable across processes and Python runs."""

from __future__ import annotations

import hashlib

import torch


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from ``seed`` and any labels (SHA-256, so not Python's salted ``hash``)."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def generator(seed: int, *parts: object) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``derive_seed(seed, *parts)``."""
    return torch.Generator().manual_seed(derive_seed(seed, *parts))


def seed_step(seed: int, epoch: int, step: int, rank: int = 0) -> None:
    """Seed torch's global RNGs (dropout, DropPath) for one training step.

    Done explicitly at the start of every step, so a resumed run draws exactly what an
    uninterrupted one would; nothing else in the app reads the global RNG.
    """
    torch.manual_seed(derive_seed(seed, "step", epoch, step, rank))
