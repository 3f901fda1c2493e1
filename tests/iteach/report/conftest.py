"""Helpers of the report tests: the small seeded model and padded batches that the figures draw
(shared by the figure, label and layout tests so they draw the same thing)."""

from __future__ import annotations

import torch

from erc_data import ConversationBatch
from iteach_app.model import ITEACHNet

DIMS = {"text": 12, "audio": 6}


def figure_model(**kw) -> ITEACHNet:
    """A seeded two-layer ITEACH-Net at hidden 16 over DIMS: small enough to draw in a test."""
    torch.manual_seed(0)
    return ITEACHNet(DIMS, 3, hidden_dim=16, num_heads=2, ecce_dim=4, num_layers=2, **kw)


def figure_batch(seed: int, lengths=(8, 5, 3), regression: bool = False) -> ConversationBatch:
    """Seeded random features padded past each length; 3 classes or real labels (``regression``)."""
    gen = torch.Generator().manual_seed(seed)
    length = max(lengths)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    features = {k: torch.randn(len(lengths), length, d, generator=gen) for k, d in DIMS.items()}
    if regression:
        labels = torch.randn(len(lengths), length, generator=gen).masked_fill(~mask, 0.0)
    else:
        labels = torch.randint(0, 3, (len(lengths), length), generator=gen).masked_fill(~mask, -100)
    return ConversationBatch(
        features=features,
        utterance_mask=mask,
        labels=labels,
        speakers=torch.zeros(len(lengths), length, dtype=torch.long),
        ids=[f"dialogue_{seed}_{i}" for i in range(len(lengths))],
    )
