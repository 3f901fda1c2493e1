"""Padded batches of whole conversations, and a DataLoader that makes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from erc_data.conversation import Conversation
from erc_data.dataset import ERCDataset
from erc_data.errors import DataError

IGNORE_INDEX = -100


@dataclass
class ConversationBatch:
    """``B`` conversations padded to ``L`` utterances.

    ``features`` modality -> (B, L, D_m) float32 (zeros on padding); ``utterance_mask`` (B, L)
    bool; ``labels`` (B, L) long (padding -100) or float32 (padding 0.0); ``speakers`` (B, L) long
    (padding 0); ``ids`` the conversation ids; ``utterance_ids`` their utterance ids.
    """

    features: dict[str, torch.Tensor]
    utterance_mask: torch.Tensor
    labels: torch.Tensor
    speakers: torch.Tensor
    ids: list[str]
    utterance_ids: list[list[str]] = field(default_factory=list)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ConversationBatch:
        """A copy with every tensor on ``device``."""
        return ConversationBatch(
            features={m: x.to(device, non_blocking=non_blocking) for m, x in self.features.items()},
            utterance_mask=self.utterance_mask.to(device, non_blocking=non_blocking),
            labels=self.labels.to(device, non_blocking=non_blocking),
            speakers=self.speakers.to(device, non_blocking=non_blocking),
            ids=list(self.ids),
            utterance_ids=[list(u) for u in self.utterance_ids],
        )

    def __len__(self) -> int:
        return len(self.ids)


def collate_conversations(conversations: Sequence[Conversation]) -> ConversationBatch:
    """Pad ``conversations`` into one `ConversationBatch` (labels' dtype picks the padding)."""
    if not conversations:
        raise DataError("collate_conversations needs at least one conversation")
    modalities = list(conversations[0].features)
    for conv in conversations[1:]:
        if list(conv.features) != modalities:
            raise DataError(
                f"conversation {conv.id!r} has modalities {list(conv.features)}, "
                f"but {conversations[0].id!r} has {modalities}"
            )
    b, length = len(conversations), max(len(c) for c in conversations)
    regression = conversations[0].labels.dtype.kind == "f"
    labels = np.full((b, length), 0.0 if regression else IGNORE_INDEX,
                     dtype=np.float32 if regression else np.int64)  # fmt: skip
    speakers = np.zeros((b, length), dtype=np.int64)
    mask = np.zeros((b, length), dtype=bool)
    features = {
        m: np.zeros((b, length, conversations[0].features[m].shape[1]), dtype=np.float32)
        for m in modalities
    }
    for i, conv in enumerate(conversations):
        n = len(conv)
        labels[i, :n] = conv.labels
        speakers[i, :n] = conv.speakers
        mask[i, :n] = True
        for m in modalities:
            x = conv.features[m]
            if x.shape[1] != features[m].shape[2]:
                raise DataError(
                    f"conversation {conv.id!r}: {m!r} has dim {x.shape[1]}, "
                    f"the batch has {features[m].shape[2]}"
                )
            features[m][i, :n] = x
    return ConversationBatch(
        features={m: torch.from_numpy(x) for m, x in features.items()},
        utterance_mask=torch.from_numpy(mask),
        labels=torch.from_numpy(labels),
        speakers=torch.from_numpy(speakers),
        ids=[c.id for c in conversations],
        utterance_ids=[list(c.utterance_ids) for c in conversations],
    )


def conversation_loader(
    dataset: ERCDataset,
    batch_size: int = 32,
    *,
    shuffle: bool = False,
    seed: int = 0,
    sampler: Sampler[int] | None = None,
    drop_last: bool = False,
) -> DataLoader[ConversationBatch]:
    """A DataLoader of `ConversationBatch`es of whole conversations, shuffled by ``seed``."""
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    if len(dataset) == 0:
        raise DataError(f"{dataset.name}: cannot batch an empty dataset")
    generator = torch.Generator().manual_seed(seed) if shuffle and sampler is None else None
    return DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        drop_last=drop_last,
        collate_fn=collate_conversations,
        generator=generator,
    )
