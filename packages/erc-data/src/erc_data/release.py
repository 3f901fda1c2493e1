"""Parse a GCNet label pickle into conversations of utterance ids, speakers and labels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from erc_data.errors import DataError
from erc_data.safe_pickle import load_pickle
from erc_data.specs import DatasetSpec, session_of


@dataclass
class ReleaseLabels:
    """What a label pickle says, dialogues in the pickle's order."""

    dialogue_ids: list[str]
    utterance_ids: list[list[str]]
    speakers: list[list[str]]
    labels: list[list[float]]
    release_split: dict[str, str]
    folds: dict[str, int]


def _as_list(value: Any, path: Path, what: str, dialogue: str) -> list[Any]:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    kind = type(value).__name__
    raise DataError(f"{path}: {what} of dialogue {dialogue!r} is a {kind}, not a list")


def _check_label(value: Any, spec: DatasetSpec, path: Path, where: str) -> float:
    try:
        y = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: label of {where} is {value!r}, not a number") from None
    low, high = spec.label_range
    if spec.task == "classification":
        if not (y.is_integer() and low <= y <= high):
            raise DataError(
                f"{path}: label of {where} is {value!r}; {spec.name} has classes "
                f"0..{spec.num_classes - 1}"
            )
    elif not (math.isfinite(y) and low <= y <= high):
        raise DataError(f"{path}: label of {where} is {value!r}, outside [{low}, {high}]")
    return y


def read_release_labels(path: Path, spec: DatasetSpec) -> ReleaseLabels:
    """Read and check ``path``: every dialogue non-empty, lists of equal length, labels in range."""
    payload = load_pickle(path)
    expected = 7 if spec.has_val else 6
    if not isinstance(payload, (list, tuple)) or len(payload) != expected:
        got = len(payload) if isinstance(payload, (list, tuple)) else type(payload).__name__
        raise DataError(f"{path}: expected a list of {expected} for {spec.name}, got {got}")
    video_ids, video_labels, video_speakers = payload[0], payload[1], payload[2]
    for what, d in (("videoIDs", video_ids), ("videoLabels", video_labels)):
        if not isinstance(d, Mapping):
            raise DataError(f"{path}: {what} is a {type(d).__name__}, not a dict")
    split_names = ("train", "val", "test") if spec.has_val else ("train", "test")
    release_split: dict[str, str] = {}
    for split_name, ids in zip(split_names, payload[-len(split_names) :], strict=True):
        if not isinstance(ids, (list, tuple, set, frozenset, np.ndarray)):
            raise DataError(f"{path}: the {split_name} list is a {type(ids).__name__}, not a list")
        for d in ids:
            d = str(d)
            if release_split.get(d, split_name) != split_name:
                raise DataError(
                    f"{path}: dialogue {d!r} is in both the {release_split[d]} and the "
                    f"{split_name} list"
                )
            release_split[d] = split_name
    unknown = sorted(set(release_split) - {str(d) for d in video_ids})
    if unknown:
        raise DataError(
            f"{path}: {len(unknown)} dialogues of the split lists are not in videoIDs, "
            f"e.g. {unknown[:5]}"
        )
    out = ReleaseLabels([], [], [], [], release_split, {})
    seen: dict[str, str] = {}
    for dialogue, utts in video_ids.items():
        dialogue = str(dialogue)
        utts = [str(u) for u in _as_list(utts, path, "videoIDs", dialogue)]
        if not utts:
            raise DataError(f"{path}: dialogue {dialogue!r} is empty (no utterances)")
        for what, d in (("videoLabels", video_labels), ("videoSpeakers", video_speakers)):
            if dialogue not in d:
                raise DataError(f"{path}: dialogue {dialogue!r} is missing from {what}")
        labels = _as_list(video_labels[dialogue], path, "videoLabels", dialogue)
        speakers = [str(s) for s in _as_list(video_speakers[dialogue], path, "speakers", dialogue)]
        if not len(labels) == len(speakers) == len(utts):
            raise DataError(
                f"{path}: dialogue {dialogue!r} has {len(utts)} utterances, {len(labels)} labels "
                f"and {len(speakers)} speakers"
            )
        for u in utts:
            if u in seen:
                where = "twice in" if seen[u] == dialogue else f"in {seen[u]!r} and in"
                raise DataError(f"{path}: utterance id {u!r} appears {where} dialogue {dialogue!r}")
            seen[u] = dialogue
        out.dialogue_ids.append(dialogue)
        out.utterance_ids.append(utts)
        out.speakers.append(speakers)
        out.labels.append(
            [
                _check_label(y, spec, path, f"utterance {u!r}")
                for y, u in zip(labels, utts, strict=True)
            ]
        )
        if spec.folder == "IEMOCAP":
            out.folds[dialogue] = session_of(dialogue)
    return out
