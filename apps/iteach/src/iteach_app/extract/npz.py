"""Feature files: an ``.npz`` of ``{utterance_id: (D,) float32}``, atomic, plain arrays only."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from iteach_app.extract.errors import FeatureError
from iteach_app.io import atomic_write_bytes


def write_vectors(path: str | Path, vectors: Mapping[str, np.ndarray]) -> Path:
    """Write ``vectors`` to ``path`` (readers see the old file or the whole new one)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise FeatureError(f"{path}: the output must be an .npz file")
    if not vectors:
        raise FeatureError(f"{path}: no vectors to write")
    buffer = io.BytesIO()
    # The .npz layout written by hand: np.savez(**vectors) would clash with an id such as "file".
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for uid, vector in vectors.items():
            with archive.open(f"{uid}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(vector), allow_pickle=False)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as err:
        raise FeatureError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def read_vectors(path: str | Path) -> dict[str, np.ndarray]:
    """``{utterance_id: vector}`` from an ``.npz`` as `write_vectors` writes it (plain arrays)."""
    with np.load(Path(path), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
