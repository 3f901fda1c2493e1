"""Per-modality, per-dimension feature standardisation fit on the training split only."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from erc_data.conversation import Conversation
from erc_data.dataset import ERCDataset
from erc_data.errors import DataError

MODES = ("standard", "none")


class Standardizer:
    """``x -> (x - mean) / max(std, min_std)`` per modality and dimension; ``"none"``: identity.

    Statistics come from `fit` (the training conversations); rows a conversation marks absent in
    ``present[m]`` (L,) bool stay out of the statistics and stay zero after `transform`.
    """

    def __init__(self, mode: str = "standard", *, min_std: float = 1e-6) -> None:
        if mode not in MODES:
            raise DataError(f"standardisation mode must be one of {list(MODES)}, got {mode!r}")
        if not (isinstance(min_std, (int, float)) and np.isfinite(min_std) and min_std > 0):
            raise DataError(f"min_std must be a positive finite number, got {min_std!r}")
        self.mode = mode
        self.min_std = float(min_std)
        self.mean: dict[str, np.ndarray] = {}
        self.std: dict[str, np.ndarray] = {}

    @property
    def fitted(self) -> bool:
        return self.mode == "none" or bool(self.mean)

    def fit(self, conversations: Iterable[Conversation] | ERCDataset) -> Standardizer:
        """Fit mean and std (D_m,) per modality on ``conversations`` (the training split only)."""
        if self.mode == "none":
            return self
        rows: dict[str, list[np.ndarray]] = {}
        for conv in conversations:
            for m, x in conv.features.items():
                rows.setdefault(m, []).append(x[_present_rows(conv, m)])
        if not rows:
            raise DataError("Standardizer.fit got no conversations")
        mean, std = {}, {}
        for m, parts in rows.items():
            x = np.concatenate(parts).astype(np.float64)
            if x.shape[0] == 0:
                raise DataError(f"Standardizer.fit: modality {m!r} is absent in every utterance")
            mean[m], raw_std = x.mean(axis=0), x.std(axis=0)
            if not (np.isfinite(mean[m]).all() and np.isfinite(raw_std).all()):
                raise DataError(f"Standardizer.fit: modality {m!r} has NaN or inf statistics")
            flat = raw_std < self.min_std
            if flat.all():
                warnings.warn(
                    f"modality {m!r} is constant on the training split (std 0): it is kept, and "
                    "becomes all zeros after centring",
                    stacklevel=2,
                )
            std[m] = np.maximum(raw_std, self.min_std)
        self.mean, self.std = mean, std
        return self

    def transform(self, conversation: Conversation) -> Conversation:
        """A new conversation with standardised float32 features (the input is untouched)."""
        if self.mode == "none":
            return conversation
        if not self.mean:
            raise DataError("Standardizer is not fitted: call fit(train) or from_state_dict first")
        features = {}
        for m, x in conversation.features.items():
            if m not in self.mean:
                raise DataError(
                    f"conversation {conversation.id!r}: modality {m!r} has no statistics "
                    f"(fitted on {sorted(self.mean)})"
                )
            if x.shape[1] != self.mean[m].shape[0]:
                raise DataError(
                    f"conversation {conversation.id!r}: modality {m!r} has dim {x.shape[1]}, the "
                    f"statistics dim {self.mean[m].shape[0]}"
                )
            z = ((x - self.mean[m]) / self.std[m]).astype(np.float32)
            z[~_present_rows(conversation, m)] = 0.0
            features[m] = z
        return replace(conversation, features=features)

    def transform_dataset(self, dataset: ERCDataset) -> ERCDataset:
        """A new ERCDataset of transformed conversations, same metadata."""
        return ERCDataset(
            [self.transform(c) for c in dataset],
            name=dataset.name,
            task=dataset.task,
            num_classes=dataset.num_classes,
            modality_dims=dataset.modality_dims,
            speaker_names=dataset.speaker_names,
            release_split=dataset.release_split,
            folds=dataset.folds,
            label_names=dataset.label_names,
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"<modality>.mean": (D,), "<modality>.std": (D,)}`` float32 arrays; empty for none."""
        state = {}
        for m in self.mean:
            state[f"{m}.mean"] = self.mean[m].astype(np.float32)
            state[f"{m}.std"] = self.std[m].astype(np.float32)
        return state

    @classmethod
    def from_state_dict(cls, state: Mapping[str, np.ndarray]) -> Standardizer:
        """The Standardizer a `state_dict` describes (an empty one gives mode ``none``)."""
        if not state:
            return cls("none")
        out = cls("standard")
        for key, value in state.items():
            m, _, kind = str(key).rpartition(".")
            if kind not in ("mean", "std") or not m:
                raise DataError(f"Standardizer state key {key!r} is not '<modality>.mean|std'")
            array = np.asarray(value, dtype=np.float64)
            if array.ndim != 1 or not np.isfinite(array).all():
                raise DataError(f"Standardizer state {key!r}: need a finite (D,) array")
            (out.mean if kind == "mean" else out.std)[m] = array
        for m in set(out.mean) | set(out.std):
            if m not in out.mean or m not in out.std or out.mean[m].shape != out.std[m].shape:
                raise DataError(f"Standardizer state for modality {m!r} needs mean and std alike")
            if (out.std[m] <= 0).any():
                raise DataError(f"Standardizer state {m!r}.std has a value <= 0")
        return out


def _present_rows(conversation: Conversation, modality: str) -> np.ndarray:
    """(L,) bool: the rows where ``modality`` was observed (all rows unless marked absent)."""
    marked = conversation.present.get(modality)
    if marked is None:
        return np.ones(len(conversation), dtype=bool)
    marked = np.asarray(marked, dtype=bool)
    if marked.shape != (len(conversation),):
        raise DataError(
            f"conversation {conversation.id!r}: present[{modality!r}] has shape {marked.shape}, "
            f"expected ({len(conversation)},)"
        )
    return marked
