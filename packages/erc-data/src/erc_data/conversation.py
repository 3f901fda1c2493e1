"""One conversation: its utterances in speaking order, their speakers, labels and features."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from erc_data.errors import DataError


@dataclass(eq=False)
class Conversation:
    """A conversation of ``L`` utterances.

    ``speakers`` (L,) int64 indices into the dataset's ``speaker_names``; ``labels`` (L,) int64
    classes or float32 scores; ``features`` modality -> (L, D_m) float32; ``present`` optionally
    marks, per modality, which rows were observed ((L,) bool; a modality not listed is complete).
    """

    id: str
    utterance_ids: list[str]
    speakers: np.ndarray
    labels: np.ndarray
    features: dict[str, np.ndarray]
    present: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.utterance_ids)
        if n == 0:
            raise DataError(f"conversation {self.id!r} is empty (no utterances)")
        if self.speakers.shape != (n,) or self.labels.shape != (n,):
            raise DataError(
                f"conversation {self.id!r}: {n} utterances but speakers {self.speakers.shape} "
                f"and labels {self.labels.shape}"
            )
        for name, x in self.features.items():
            if x.ndim != 2 or x.shape[0] != n:
                raise DataError(
                    f"conversation {self.id!r}: features[{name!r}] has shape {x.shape}, "
                    f"expected ({n}, D)"
                )

    def __len__(self) -> int:
        return len(self.utterance_ids)
