"""Fixtures for the missing_modality tests: padded toy batches and models that use them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
import torch

NUM_CLASSES = 4


def make_batches(
    num_batches: int = 3,
    *,
    seed: int = 0,
    task: str = "classification",
    dims: tuple[int, ...] = (6, 5, 7),
    names: tuple[str, ...] = ("text", "audio", "video"),
) -> list[SimpleNamespace]:
    """Padded batches whose labels follow the sum of the modalities' first features."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(num_batches):
        size = int(torch.randint(2, 5, (1,), generator=generator))
        length = int(torch.randint(3, 9, (1,), generator=generator))
        lengths = torch.randint(1, length + 1, (size,), generator=generator)
        lengths[0] = length
        mask = torch.arange(length)[None, :] < lengths[:, None]
        features = {
            name: torch.randn(size, length, dim, generator=generator)
            for name, dim in zip(names, dims, strict=True)
        }
        signal = sum(value[..., :NUM_CLASSES] for value in features.values())
        if task == "classification":
            labels = signal.argmax(-1).masked_fill(~mask, -100)
        else:
            labels = signal[..., 0].clamp(-3, 3).masked_fill(~mask, 0.0)
            labels[0, 0] = 0.0
        batches.append(SimpleNamespace(features=features, utterance_mask=mask, labels=labels))
    return batches


def oracle_logits(
    features: dict, utterance_mask: torch.Tensor, present: torch.Tensor
) -> torch.Tensor:
    """(B, L, C) logits from the zero-filled features: perfect when nothing is missing."""
    return sum(value[..., :NUM_CLASSES] for value in features.values())


def regression_values(
    features: dict, utterance_mask: torch.Tensor, present: torch.Tensor
) -> torch.Tensor:
    """(B, L) values from the zero-filled features."""
    return sum(value[..., 0] for value in features.values())


@pytest.fixture
def batches() -> list[SimpleNamespace]:
    return make_batches()


@pytest.fixture
def batch_factory() -> Callable[..., list[SimpleNamespace]]:
    return make_batches


@pytest.fixture
def oracle() -> Callable[..., torch.Tensor]:
    return oracle_logits


@pytest.fixture
def regressor() -> Callable[..., torch.Tensor]:
    return regression_values
