"""The packed cache: one ``.npz`` (arrays + a JSON header, no pickle) per dataset + feature set."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from erc_data.packed import PackedDataset

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$ERC_DATA_CACHE``, else the platform's user cache folder + ``erc_data``."""
    env = os.environ.get("ERC_DATA_CACHE")
    if env:
        return Path(env)
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", home / ".cache"))
    return base / "erc_data"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | bool | None) -> Path | None:
    """``None``/``True`` -> the default folder, ``False`` -> no cache, a path -> that path."""
    if cache_dir is False:
        return None
    if cache_dir is None or cache_dir is True:
        return default_cache_dir()
    return Path(cache_dir)


def source_signature(
    dataset: str, label_file: Path, feature_folders: Mapping[str, Path]
) -> dict[str, Any]:
    """Names, sizes and modification times of the sources (a folder: its mtime and entry count)."""
    st = label_file.stat()
    folders = {}
    for modality, folder in feature_folders.items():
        fst = folder.stat()
        with os.scandir(folder) as it:
            count = sum(1 for _ in it)
        folders[modality] = {
            "path": str(folder.resolve()),
            "mtime_ns": fst.st_mtime_ns,
            "entries": count,
        }
    return {
        "format": CACHE_FORMAT,
        "dataset": dataset,
        "label_file": {
            "path": str(label_file.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        },
        "features": folders,
    }


def cache_path(cache_dir: Path, signature: Mapping[str, Any]) -> Path:
    """The one file for this (dataset, feature set): named by the sources' names only."""
    names = {
        "dataset": signature["dataset"],
        "label_file": signature["label_file"]["path"],
        "features": {m: f["path"] for m, f in signature["features"].items()},
    }
    digest = hashlib.sha256(json.dumps(names, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / f"{signature['dataset']}-{digest}.npz"


def write_packed(path: Path, packed: PackedDataset, signature: Mapping[str, Any]) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``."""
    modalities = list(packed.features)
    header = {
        "signature": signature,
        "name": packed.name,
        "task": packed.task,
        "num_classes": packed.num_classes,
        "conversation_ids": packed.conversation_ids,
        "utterance_ids": packed.utterance_ids,
        "speaker_names": packed.speaker_names,
        "release_split": packed.release_split,
        "folds": packed.folds,
        "modalities": modalities,
        "label_names": packed.label_names,
    }
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        "lengths": packed.lengths,
        "speakers": packed.speakers,
        "labels": packed.labels,
        **{f"feature{i}": packed.features[m] for i, m in enumerate(modalities)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_packed(path: Path, signature: Mapping[str, Any]) -> PackedDataset | None:
    """The cached dataset, or ``None`` if absent, stale (another signature) or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(z["header"].tobytes().decode())
            if header.get("signature") != json.loads(json.dumps(signature)):
                return None
            return PackedDataset(
                name=header["name"],
                task=header["task"],
                num_classes=header["num_classes"],
                conversation_ids=header["conversation_ids"],
                lengths=z["lengths"],
                utterance_ids=header["utterance_ids"],
                speakers=z["speakers"],
                labels=z["labels"],
                features={m: z[f"feature{i}"] for i, m in enumerate(header["modalities"])},
                speaker_names=header["speaker_names"],
                release_split=header["release_split"],
                folds={k: int(v) for k, v in header["folds"].items()},
                label_names=header.get("label_names", []),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        warnings.warn(f"ignoring unreadable cache file {path}: {err}", stacklevel=3)
        return None
