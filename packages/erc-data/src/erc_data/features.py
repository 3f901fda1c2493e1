"""Read a feature folder: ``<utterance_id>.npy`` files or ``<utterance_id>/`` folders of them."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from erc_data.errors import DataError
from erc_data.npy import read_npy

_SHOW = 5  # how many ids an error lists
_TOKENS = re.compile(r"[^A-Za-z0-9]+")


def reduce_feature(x: np.ndarray, path: str) -> np.ndarray:
    """(D,) or (T, D) (averaged over T) -> (D,) float32, checked finite; errors name ``path``."""
    if x.dtype.kind not in "fiub":
        raise DataError(f"{path}: features must be numeric, got dtype {x.dtype}")
    if x.ndim > 2:
        x = x.squeeze()
    if x.ndim == 2:
        if x.shape[0] == 0:
            raise DataError(f"{path}: has shape {x.shape}, zero time steps")
        x = x.mean(axis=0, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] == 0:
        raise DataError(f"{path}: expected shape (D,) or (T, D), got {x.shape}")
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = "NaN" if np.isnan(x).any() else "inf"
        raise DataError(f"{path}: holds {bad} values")
    return x


def load_npy(path: str, root: str | None = None) -> np.ndarray:
    """One ``.npy`` file as (D,) float32; with ``root``, a link leaving ``root`` is refused."""
    return reduce_feature(read_npy(path, root=root), path)


def _speaker_files(names: list[str], utterance_id: str, speaker: str | None) -> list[str]:
    """The files of a folder entry belonging to ``speaker`` (a name token equal to it), else all."""
    if not speaker:
        return names
    own = []
    for name in names:
        rest = name[: -len(".npy")].removeprefix(utterance_id)
        if speaker.upper() in {t.upper() for t in _TOKENS.split(rest)}:
            own.append(name)
    return own or names


def _load_folder(
    folder: str, utterance_id: str, speaker: str | None, root: str | None
) -> np.ndarray:
    names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".npy"))
    if not names:
        raise DataError(f"feature folder {folder} holds no .npy file")
    chosen = _speaker_files(names, utterance_id, speaker)
    vectors = [load_npy(os.path.join(folder, n), root) for n in chosen]
    dims = {v.shape[0] for v in vectors}
    if len(dims) > 1:
        raise DataError(f"feature folder {folder}: files of different dims {sorted(dims)}")
    return np.mean(vectors, axis=0, dtype=np.float64).astype(np.float32)


def read_feature_folder(
    folder: str | os.PathLike[str],
    utterance_ids: Sequence[str],
    speakers: Sequence[str] | None = None,
    *,
    workers: int = 8,
    allow_outside_links: bool = False,
) -> np.ndarray:
    """Features of ``utterance_ids`` from ``folder`` -> (N, D) float32, row n for utterance n.

    Every file must be a regular file inside ``folder`` after resolving symlinks, unless
    ``allow_outside_links`` (then links may point anywhere, still only to regular files).

    Paths are built from the ids (one listing of ``folder`` checks they exist; nothing is globbed).
    A ``<utterance_id>/`` entry averages its files; with ``speakers`` given, only the files whose
    name carries the utterance's own speaker (e.g. ``F.npy``, ``..._M.npy``) when any does.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(f"feature folder not found: {folder}")
    with os.scandir(folder) as it:
        entries = {e.name: e.is_dir() for e in it}
    tasks: list[tuple[str, bool]] = []
    missing = []
    for uid in utterance_ids:
        if f"{uid}.npy" in entries:
            tasks.append((os.path.join(folder, f"{uid}.npy"), False))
        elif entries.get(uid):
            tasks.append((os.path.join(folder, uid), True))
        else:
            missing.append(uid)
    if missing:
        raise DataError(
            f"{len(missing)} of {len(utterance_ids)} utterances have no features in {folder} "
            f"(neither <id>.npy nor <id>/), e.g. {missing[:_SHOW]}"
        )

    root = None if allow_outside_links else folder

    def load(n: int) -> np.ndarray:
        path, is_dir = tasks[n]
        if is_dir:
            return _load_folder(path, utterance_ids[n], speakers[n] if speakers else None, root)
        return load_npy(path, root)

    if not tasks:
        raise DataError(f"no utterance ids to read from {folder}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        vectors = list(pool.map(load, range(len(tasks)), chunksize=64))
    return stack_checked(vectors, [t[0] for t in tasks])


def stack_checked(vectors: Sequence[np.ndarray], sources: Sequence[str]) -> np.ndarray:
    """Stack (D,) vectors into (N, D); a vector of another dim raises naming its source."""
    dim = vectors[0].shape[0]
    for v, src in zip(vectors, sources, strict=True):
        if v.shape[0] != dim:
            raise DataError(
                f"inconsistent feature dims: {src} has dim {v.shape[0]}, but {sources[0]} has {dim}"
            )
    return np.stack(vectors).astype(np.float32, copy=False)
