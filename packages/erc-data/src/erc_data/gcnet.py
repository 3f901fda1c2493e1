"""`load_gcnet`: IEMOCAP / CMU-MOSI / CMU-MOSEI in the GCNet feature release layout."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from erc_data.cache import cache_path as _cache_path
from erc_data.cache import read_packed, resolve_cache_dir, source_signature, write_packed
from erc_data.dataset import ERCDataset
from erc_data.errors import DataError
from erc_data.features import read_feature_folder
from erc_data.packed import PackedDataset
from erc_data.release import read_release_labels
from erc_data.specs import DatasetSpec, get_spec


def _dataset_folder(root: Path, spec: DatasetSpec) -> Path:
    """``root`` itself if it holds the label pickle, else ``root/<IEMOCAP|CMUMOSI|CMUMOSEI>``."""
    for candidate in (root, root / spec.folder):
        if (candidate / spec.label_file).is_file():
            return candidate
    raise DataError(
        f"{spec.name}: label pickle {spec.label_file} not found in {root} "
        f"nor in {root / spec.folder}"
    )


def _check_features(dataset: str, features: object) -> None:
    """``features`` must map non-empty modality names to folder names or paths."""
    if not isinstance(features, Mapping):
        raise DataError(
            f"{dataset}: features must map modality -> feature folder, e.g. "
            f"{{'text': 'minilm-384-UTT'}}; got a {type(features).__name__}"
        )
    if not features:
        raise DataError(f"{dataset}: features is empty; map at least one modality to a folder")
    for modality, folder in features.items():
        if not isinstance(modality, str) or not modality:
            raise DataError(
                f"{dataset}: modality names must be non-empty strings, got {modality!r}"
            )
        if not isinstance(folder, (str, os.PathLike)) or not os.fspath(folder):
            raise DataError(
                f"{dataset}: features[{modality!r}] must be a feature folder name or path, "
                f"got {folder!r}"
            )


def _warn_unassigned(dataset: str, packed: PackedDataset) -> None:
    """Warn about dialogues in no split list of the pickle (`ERCDataset.split` refuses them)."""
    if not packed.release_split:
        return
    unassigned = [d for d in packed.conversation_ids if d not in packed.release_split]
    if unassigned:
        warnings.warn(
            f"{dataset}: {len(unassigned)} of {len(packed.conversation_ids)} dialogues are in no "
            f"split list of the label pickle, e.g. {unassigned[:5]}; split() with the release "
            "split will refuse them (pass unassigned='train' or 'drop'), fold splits use them",
            stacklevel=3,
        )


def _build(
    spec: DatasetSpec,
    label_file: Path,
    folders: Mapping[str, Path],
    workers: int,
    allow_outside_links: bool,
) -> PackedDataset:
    release = read_release_labels(label_file, spec)
    utterance_ids = [u for utts in release.utterance_ids for u in utts]
    speaker_strings = [s for ss in release.speakers for s in ss]
    speaker_names = sorted(set(speaker_strings))
    index = {s: i for i, s in enumerate(speaker_names)}
    label_dtype = np.int64 if spec.task == "classification" else np.float32
    features = {
        m: read_feature_folder(
            folder,
            utterance_ids,
            speaker_strings,
            workers=workers,
            allow_outside_links=allow_outside_links,
        )
        for m, folder in folders.items()
    }
    return PackedDataset(
        name=spec.name,
        task=spec.task,  # type: ignore[arg-type]
        num_classes=spec.num_classes,
        conversation_ids=release.dialogue_ids,
        lengths=np.array([len(u) for u in release.utterance_ids], dtype=np.int64),
        utterance_ids=utterance_ids,
        speakers=np.array([index[s] for s in speaker_strings], dtype=np.int64),
        labels=np.array([y for ys in release.labels for y in ys], dtype=label_dtype),
        features=features,
        speaker_names=speaker_names,
        release_split=release.release_split,
        folds=release.folds,
        label_names=list(spec.label_names),
    )


def load_gcnet(
    root: str | os.PathLike[str],
    dataset: str,
    features: Mapping[str, str],
    *,
    cache_dir: str | os.PathLike[str] | bool | None = None,
    workers: int = 4,
    allow_outside_links: bool = False,
) -> ERCDataset:
    """Load ``dataset`` ("IEMOCAPFour", "IEMOCAPSix", "CMUMOSI", "CMUMOSEI") from ``root``.

    ``root`` is the dataset's folder (holding the label pickle and ``features/``) or its parent.
    ``features`` maps modality name -> feature folder under ``features/`` (or an absolute path),
    e.g. ``{"text": "minilm-384-UTT"}``. ``cache_dir``: None = ``$ERC_DATA_CACHE`` or the user
    cache folder, a path, or False for no cache. Feature files that are symlinks resolving outside
    their feature folder are refused unless ``allow_outside_links``.
    """
    spec = get_spec(dataset)
    _check_features(dataset, features)
    base = _dataset_folder(Path(root), spec)
    label_file = base / spec.label_file
    folders = {m: base / "features" / f for m, f in features.items()}
    for m, folder in folders.items():
        if not folder.is_dir():
            raise DataError(f"{dataset}: feature folder for {m!r} not found: {folder}")
    cache = resolve_cache_dir(cache_dir)
    if cache is None:
        packed = _build(spec, label_file, folders, workers, allow_outside_links)
        _warn_unassigned(dataset, packed)
        return packed.to_dataset()
    signature = source_signature(dataset, label_file, folders)
    if allow_outside_links:
        signature["allow_outside_links"] = True
    path = _cache_path(cache, signature)
    packed = read_packed(path, signature)
    if packed is None:
        packed = _build(spec, label_file, folders, workers, allow_outside_links)
        try:
            write_packed(path, packed, signature)
        except OSError as err:
            warnings.warn(f"could not write the cache file {path}: {err}", stacklevel=2)
    _warn_unassigned(dataset, packed)
    return packed.to_dataset()
