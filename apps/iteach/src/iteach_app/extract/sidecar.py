"""The JSON file beside each feature file: what made the vectors, their width, what is absent.

``video.npz`` gets ``video.npz.json``. The loaders read only ``<utterance_id>`` members of the
``.npz``, so the sidecar never reaches training or prediction; it is for people and scripts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iteach_app.extract.absent import Absences
from iteach_app.io import atomic_write_text


def sidecar_path(npz: str | Path) -> Path:
    """``DIR/video.npz`` -> ``DIR/video.npz.json``."""
    npz = Path(npz)
    return npz.with_name(npz.name + ".json")


def write_sidecar(
    npz: str | Path,
    *,
    modality: str,
    dim: int,
    count: int,
    absences: Absences | None = None,
    **settings: Any,
) -> Path:
    """Write the sidecar of ``npz``: modality, width, count, settings, absent ids and reasons."""
    record: dict[str, Any] = {"modality": modality, "dim": dim, "count": count, **settings}
    if absences is not None:
        record["absent"] = dict(zip(absences.uids, absences.lines, strict=True))
    path = sidecar_path(npz)
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")
    return path


def read_sidecar(npz: str | Path) -> Mapping[str, Any]:
    """The sidecar of ``npz`` as a dict ({} when there is none)."""
    path = sidecar_path(npz)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
