"""Synthetic ERC datasets shaped like the real ones, with planted structure.

Emotions stay locally stable: a conversation is a run of segments, each with one label, and the
label changes at random points (probability ``change_prob`` per utterance). Each modality carries
the label with its own strength (text strongest): an utterance's features are
``strength * prototype[label] + N(0, 1)`` (classes) or ``strength * sqrt(2) * (y / 3) * direction
+ N(0, 1)`` (sentiment), so neighbours' features hold evidence about an utterance's label.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from erc_data.dataset import ERCDataset
from erc_data.errors import DataError
from erc_data.packed import PackedDataset
from erc_data.specs import IEMOCAP_FOUR_NAMES, IEMOCAP_SIX_NAMES, get_spec

DEFAULT_DIMS: dict[str, int] = {"text": 1024, "audio": 512, "video": 1024}
DEFAULT_STRENGTHS: dict[str, float] = {"text": 1.4, "audio": 0.9, "video": 0.7}


def _lengths(rng: np.random.Generator, n: int, low: int, high: int, longest: int) -> np.ndarray:
    lengths = rng.integers(low, high + 1, size=n)
    lengths = np.minimum(lengths, longest)
    lengths[rng.integers(n)] = longest
    return lengths


def _segments(rng: np.random.Generator, n: int, change_prob: float) -> np.ndarray:
    """(n,) segment index of each utterance: a new segment starts with probability change_prob."""
    starts = rng.random(n) < change_prob
    starts[0] = True
    return np.cumsum(starts) - 1


def _speakers(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) 0/1 speakers: the turn passes with probability 0.7."""
    turns = rng.random(n) < 0.7
    turns[0] = bool(rng.integers(2))
    return (np.cumsum(turns) % 2).astype(np.int64)


def _features(
    rng: np.random.Generator,
    signal: np.ndarray,
    dims: Mapping[str, int],
    strengths: Mapping[str, float] | None,
) -> dict[str, np.ndarray]:
    """modality -> (N, D) float32: ``strength * signal @ directions + N(0, 1)``; signal (N, K)."""
    strengths = {**DEFAULT_STRENGTHS, **(strengths or {})}
    out = {}
    for m, d in dims.items():
        directions = rng.standard_normal((signal.shape[1], d))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        x = rng.standard_normal((signal.shape[0], d), dtype=np.float32)
        x += (strengths.get(m, 1.0) * signal @ directions).astype(np.float32)
        out[m] = x
    return out


_IEMOCAP_NAMES = {4: IEMOCAP_FOUR_NAMES, 6: IEMOCAP_SIX_NAMES}


def iemocap_like(
    num_classes: int = 4,
    *,
    seed: int = 0,
    num_dialogues: int = 151,
    dims: Mapping[str, int] | None = None,
    max_length: int = 110,
    change_prob: float = 0.15,
    strengths: Mapping[str, float] | None = None,
) -> ERCDataset:
    """An IEMOCAP-like dataset: 5 sessions (Session 5 = the release test set), 2 speakers F/M.

    Mean length 37 (4 classes) or 49 (6 classes), the longest exactly ``max_length``.
    """
    if num_classes < 2:
        raise DataError(f"num_classes must be >= 2, got {num_classes}")
    if num_dialogues < 1:
        raise DataError(f"num_dialogues must be >= 1, got {num_dialogues}")
    rng = np.random.default_rng(seed)
    dims = dict(DEFAULT_DIMS if dims is None else dims)
    low, high = (12, 62) if num_classes <= 4 else (20, 78)
    lengths = _lengths(rng, num_dialogues, low, high, max_length)
    ids, utterance_ids, speakers, labels, folds, split = [], [], [], [], {}, {}
    for j, n in enumerate(lengths.tolist()):
        session = 1 + j * 5 // num_dialogues
        dialogue = f"Ses0{session}{'FM'[j % 2]}_impro{j:03d}"
        seg = _segments(rng, n, change_prob)
        steps = rng.integers(1, num_classes, size=seg[-1] + 1)
        steps[0] = rng.integers(num_classes)
        labels.append((np.cumsum(steps) % num_classes)[seg])
        spk = _speakers(rng, n)
        speakers.append(spk)
        ids.append(dialogue)
        utterance_ids += [f"{dialogue}_{'FM'[s]}{k:03d}" for k, s in enumerate(spk.tolist())]
        folds[dialogue] = session
        split[dialogue] = "test" if session == 5 else "train"
    y = np.concatenate(labels).astype(np.int64)
    onehot = np.eye(num_classes)[y]
    return PackedDataset(
        name=f"IEMOCAPLike{num_classes}",
        task="classification",
        num_classes=num_classes,
        conversation_ids=ids,
        lengths=lengths.astype(np.int64),
        utterance_ids=utterance_ids,
        speakers=np.concatenate(speakers),
        labels=y,
        features=_features(rng, onehot, dims, strengths),
        speaker_names=["F", "M"],
        release_split=split,
        folds=folds,
        label_names=list(_IEMOCAP_NAMES.get(num_classes, ())),
    ).to_dataset()


def mosi_like(
    *,
    seed: int = 0,
    num_dialogues: int = 93,
    dims: Mapping[str, int] | None = None,
    max_length: int = 63,
    change_prob: float = 0.2,
    strengths: Mapping[str, float] | None = None,
) -> ERCDataset:
    """A CMU-MOSI-like dataset: float sentiment in [-3, 3] (some exactly 0), one speaker per video,
    release train / val / test of about 56% / 11% / 33% of the videos (MOSI: 52 / 10 / 31)."""
    if num_dialogues < 3:
        raise DataError(f"num_dialogues must be >= 3 (train, val, test), got {num_dialogues}")
    rng = np.random.default_rng(seed)
    dims = dict(DEFAULT_DIMS if dims is None else dims)
    lengths = _lengths(rng, num_dialogues, 8, 40, max_length)
    ids, utterance_ids, labels = [], [], []
    for j, n in enumerate(lengths.tolist()):
        video = f"video{j:04d}"
        seg = _segments(rng, n, change_prob)
        level = rng.uniform(-3, 3, size=seg[-1] + 1)
        y = np.clip(level[seg] + 0.3 * rng.standard_normal(n), -3, 3)
        labels.append(np.round(y * 5) / 5)
        ids.append(video)
        utterance_ids += [f"{video}_{k + 1}" for k in range(n)]
    order = rng.permutation(num_dialogues)
    n_train = max(1, round(0.56 * num_dialogues))
    n_val = max(1, round(0.11 * num_dialogues))
    split = {}
    for rank, j in enumerate(order.tolist()):
        split[ids[j]] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    y = np.concatenate(labels).astype(np.float32)
    signal = (np.sqrt(2.0) * y / 3.0)[:, None]
    return PackedDataset(
        name="CMUMOSILike",
        task="regression",
        num_classes=None,
        conversation_ids=ids,
        lengths=lengths.astype(np.int64),
        utterance_ids=utterance_ids,
        speakers=np.zeros(len(y), dtype=np.int64),
        labels=y,
        features=_features(rng, signal, dims, strengths),
        speaker_names=[""],
        release_split=split,
    ).to_dataset()


def write_gcnet_layout(
    dataset: ERCDataset,
    root: str | os.PathLike[str],
    dataset_name: str,
    feature_names: Mapping[str, str] | None = None,
) -> Path:
    """Write ``dataset`` in the GCNet release layout under ``root``; returns the dataset folder.

    Writes ``<root>/<IEMOCAP|CMUMOSI|CMUMOSEI>/<label pickle>`` and
    ``features/<feature_names[m]>/<utterance_id>.npy``; ``feature_names`` maps modality -> folder
    (default ``<modality>-<dim>-UTT``). Read it back with ``load_gcnet(root, dataset_name, ...)``.
    """
    spec = get_spec(dataset_name)
    if dataset.task != spec.task or (spec.num_classes and dataset.num_classes != spec.num_classes):
        raise DataError(
            f"{dataset_name} needs task {spec.task!r} with num_classes={spec.num_classes}; "
            f"{dataset.name} has {dataset.task!r} with num_classes={dataset.num_classes}"
        )
    if feature_names is None:
        feature_names = {m: f"{m}-{d}-UTT" for m, d in dataset.modality_dims.items()}
    unknown = set(feature_names) - set(dataset.modalities)
    if unknown:
        raise DataError(f"feature_names has modalities {sorted(unknown)} not in {dataset.name}")
    folder = Path(root) / spec.folder
    video_ids, video_labels, video_speakers, sentences = {}, {}, {}, {}
    for conv in dataset:
        video_ids[conv.id] = list(conv.utterance_ids)
        video_labels[conv.id] = conv.labels.tolist()
        video_speakers[conv.id] = [dataset.speaker_names[s] for s in conv.speakers.tolist()]
        sentences[conv.id] = [""] * len(conv)

    def members(*names: str) -> set[str]:
        return {c.id for c in dataset if dataset.release_split.get(c.id) in names}

    if spec.has_val:
        splits = [members("train"), members("val"), members("test")]
    else:
        splits = [members("train", "val"), members("test")]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / spec.label_file, "wb") as f:
        pickle.dump([video_ids, video_labels, video_speakers, sentences, *splits], f, protocol=4)
    for m, name in feature_names.items():
        out = folder / "features" / name
        out.mkdir(parents=True, exist_ok=True)
        for conv in dataset:
            for uid, x in zip(conv.utterance_ids, conv.features[m], strict=True):
                np.save(out / f"{uid}.npy", x)
    return folder
