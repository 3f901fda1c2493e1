"""A dataset as flat arrays (one row per utterance): what the cache stores and generators build."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from erc_data.conversation import Conversation
from erc_data.dataset import ERCDataset, Task


@dataclass
class PackedDataset:
    """Conversations laid end to end: ``lengths`` (C,) splits the (N, ...) utterance arrays.

    ``present`` modality -> (N,) bool marks the observed rows of a modality with absent ones.
    """

    name: str
    task: Task
    num_classes: int | None
    conversation_ids: list[str]
    lengths: np.ndarray
    utterance_ids: list[str]
    speakers: np.ndarray
    labels: np.ndarray
    features: dict[str, np.ndarray]
    speaker_names: list[str] = field(default_factory=list)
    release_split: dict[str, str] = field(default_factory=dict)
    folds: dict[str, int] = field(default_factory=dict)
    label_names: list[str] = field(default_factory=list)
    present: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dataset(self) -> ERCDataset:
        """An ERCDataset whose conversations hold views of these arrays."""
        ends = np.cumsum(self.lengths).tolist()
        starts = [0, *ends[:-1]]
        conversations = [
            Conversation(
                id=cid,
                utterance_ids=self.utterance_ids[a:b],
                speakers=self.speakers[a:b],
                labels=self.labels[a:b],
                features={m: x[a:b] for m, x in self.features.items()},
                present={m: p[a:b] for m, p in self.present.items()},
            )
            for cid, a, b in zip(self.conversation_ids, starts, ends, strict=True)
        ]
        return ERCDataset(
            conversations,
            name=self.name,
            task=self.task,
            num_classes=self.num_classes,
            modality_dims={m: int(x.shape[1]) for m, x in self.features.items()},
            speaker_names=self.speaker_names,
            release_split=self.release_split,
            folds=self.folds,
            label_names=self.label_names,
        )


def pack(dataset: ERCDataset) -> PackedDataset:
    """The inverse of `PackedDataset.to_dataset`."""
    convs = dataset.conversations
    label_dtype = np.int64 if dataset.task == "classification" else np.float32
    return PackedDataset(
        name=dataset.name,
        task=dataset.task,
        num_classes=dataset.num_classes,
        conversation_ids=[c.id for c in convs],
        lengths=np.array([len(c) for c in convs], dtype=np.int64),
        utterance_ids=[u for c in convs for u in c.utterance_ids],
        speakers=np.concatenate([c.speakers for c in convs]).astype(np.int64),
        labels=np.concatenate([c.labels for c in convs]).astype(label_dtype),
        features={
            m: np.concatenate([c.features[m] for c in convs]).astype(np.float32)
            for m in dataset.modalities
        },
        speaker_names=list(dataset.speaker_names),
        release_split=dict(dataset.release_split),
        folds=dict(dataset.folds),
        label_names=list(dataset.label_names),
        present={
            m: np.concatenate([c.present.get(m, np.ones(len(c), dtype=bool)) for c in convs])
            for m in dataset.modalities
            if any(m in c.present for c in convs)
        },
    )
