"""ERCDataset: a list of conversations plus what is needed to split them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

import numpy as np

from erc_data.conversation import Conversation
from erc_data.errors import DataError

Task = Literal["classification", "regression"]
SPLITS = ("train", "val", "test")


class ERCDataset:
    """Conversations of one dataset and feature set.

    ``release_split`` maps a conversation id to "train" / "val" / "test" (the release's own split);
    ``folds`` maps it to its group for leave-one-group-out folds (IEMOCAP: the session, 1..5).
    ``label_names`` names the classes in index order where the source named them (own tables).
    """

    def __init__(
        self,
        conversations: Sequence[Conversation],
        *,
        name: str,
        task: Task,
        num_classes: int | None,
        modality_dims: Mapping[str, int],
        speaker_names: Sequence[str] = (),
        release_split: Mapping[str, str] | None = None,
        folds: Mapping[str, int] | None = None,
        label_names: Sequence[str] = (),
    ) -> None:
        if task not in ("classification", "regression"):
            raise DataError(f"task must be 'classification' or 'regression', got {task!r}")
        if not modality_dims:
            raise DataError(f"dataset {name!r} has no modality")
        self.conversations = list(conversations)
        self.name = name
        self.task: Task = task
        self.num_classes = num_classes
        self.modality_dims = dict(modality_dims)
        self.speaker_names = tuple(speaker_names)
        self.release_split = dict(release_split or {})
        self.folds = dict(folds or {})
        self.label_names = tuple(label_names)
        for conv in self.conversations:
            for m, d in self.modality_dims.items():
                x = conv.features.get(m)
                if x is None or x.shape[1] != d:
                    got = "missing" if x is None else f"dim {x.shape[1]}"
                    raise DataError(f"conversation {conv.id!r}: modality {m!r} {got}, expected {d}")

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modality names, in the order the features were given."""
        return tuple(self.modality_dims)

    @property
    def num_utterances(self) -> int:
        return sum(len(c) for c in self.conversations)

    def __len__(self) -> int:
        return len(self.conversations)

    def __getitem__(self, index: int) -> Conversation:
        return self.conversations[index]

    def __iter__(self) -> Iterator[Conversation]:
        return iter(self.conversations)

    def __repr__(self) -> str:
        return (
            f"ERCDataset({self.name!r}, {len(self)} conversations, {self.num_utterances} "
            f"utterances, task={self.task!r}, modality_dims={self.modality_dims})"
        )

    def label_counts(self) -> dict[int, int]:
        """Utterances per class (classification only), classes ascending."""
        if self.task != "classification":
            raise DataError(f"{self.name}: label_counts needs classes; this task is {self.task}")
        counts = Counter(int(y) for c in self.conversations for y in c.labels)
        return dict(sorted(counts.items()))

    def subset(self, indices: Sequence[int]) -> ERCDataset:
        """The conversations at ``indices`` (in that order), with the same metadata."""
        n = len(self)
        bad = [i for i in indices if not -n <= int(i) < n]
        if bad:
            raise DataError(f"{self.name}: subset indices {bad[:5]} out of range for {n} items")
        return ERCDataset(
            [self.conversations[int(i)] for i in indices],
            name=self.name,
            task=self.task,
            num_classes=self.num_classes,
            modality_dims=self.modality_dims,
            speaker_names=self.speaker_names,
            release_split=self.release_split,
            folds=self.folds,
            label_names=self.label_names,
        )

    def split(
        self,
        fold: int | None = None,
        val_fraction: float = 0.1,
        seed: int = 0,
        *,
        unassigned: str = "error",
    ) -> tuple[ERCDataset, ERCDataset, ERCDataset]:
        """(train, val, test).

        ``fold=k`` tests on the conversations of group k (IEMOCAP: Session k). With ``fold=None``
        the release's own split is used (IEMOCAP: its trainVid/testVid, i.e. fold 5); where the
        release has no test set, ``val_fraction`` of the conversations is drawn for it too.
        Where the release has its own validation set (CMU-MOSI / MOSEI) it is used as is and
        ``val_fraction`` is ignored; otherwise validation is a seeded ``val_fraction`` of the
        training conversations, so models are selected without looking at the test set.
        Conversations in no release split list (with ``fold=None``) are an error naming them,
        unless ``unassigned="train"`` (they join the training pool) or ``"drop"`` (left out).
        """
        if not 0.0 <= val_fraction < 1.0:
            raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if unassigned not in ("error", "train", "drop"):
            raise DataError(f"unassigned must be 'error', 'train' or 'drop', got {unassigned!r}")
        rng = np.random.default_rng(seed)
        ids = [c.id for c in self.conversations]
        if fold is not None:
            if not self.folds:
                raise DataError(f"{self.name} has no folds; use split(fold=None)")
            groups = sorted(set(self.folds.values()))
            if fold not in groups:
                raise DataError(f"{self.name}: fold must be one of {groups}, got {fold!r}")
            test = [i for i, c in enumerate(ids) if self.folds.get(c) == fold]
            pool = [i for i, c in enumerate(ids) if self.folds.get(c) != fold]
            return (*self._carve(pool, val_fraction, rng), self.subset(test))
        where = [self.release_split.get(c) for c in ids]
        missing = [c for c, w in zip(ids, where, strict=True) if w is None]
        if self.release_split and missing:
            if unassigned == "error":
                raise DataError(
                    f"{self.name}: {len(missing)} of {len(ids)} conversations are in no split "
                    f"(train/val/test), e.g. {missing[:5]}; pass unassigned='train' or 'drop', "
                    "or give every conversation a split"
                )
            fill = "train" if unassigned == "train" else "dropped"
            where = [fill if w is None else w for w in where]
        test = [i for i, w in enumerate(where) if w == "test"]
        if not test:
            rest, test = self._draw(list(range(len(ids))), val_fraction, rng)
            return (*self._carve(rest, val_fraction, rng), self.subset(test))
        if any(w == "val" for w in where):
            train = [i for i, w in enumerate(where) if w == "train"]
            val = [i for i, w in enumerate(where) if w == "val"]
            return self.subset(train), self.subset(val), self.subset(test)
        pool = [i for i, w in enumerate(where) if w not in ("test", "dropped")]
        return (*self._carve(pool, val_fraction, rng), self.subset(test))

    def _draw(
        self, pool: list[int], fraction: float, rng: np.random.Generator
    ) -> tuple[list[int], list[int]]:
        n = round(fraction * len(pool))
        if fraction > 0 and n == 0 and len(pool) > 1:
            n = 1
        chosen = set(rng.permutation(len(pool))[:n].tolist())
        keep = [p for k, p in enumerate(pool) if k not in chosen]
        drawn = [p for k, p in enumerate(pool) if k in chosen]
        return keep, drawn

    def _carve(
        self, pool: list[int], fraction: float, rng: np.random.Generator
    ) -> tuple[ERCDataset, ERCDataset]:
        keep, drawn = self._draw(pool, fraction, rng)
        return self.subset(keep), self.subset(drawn)
