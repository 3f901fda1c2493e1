"""The modality audit, cached per data: a JSON file per identity of what the audit reads.

`train` audits its data before every run (a linear probe per modality: seconds on IEMOCAP), yet
most runs of a study reuse the same data. The key is a hash of exactly the audit's inputs: the
task, and per split it reads (train, and val or test) every conversation's labels and each
modality's observed feature rows (bytes, shapes and dtypes), plus `AUDIT_VERSION`. Any change to
the data or the split changes the key; nothing else can. The file is plain JSON (never a format
that runs code when read),
written atomically; one that cannot be read is recomputed and replaced.

Folder: ``$ITEACH_CACHE/audit``, else ``$XDG_CACHE_HOME/iteach-app/audit`` (``~/.cache`` when
unset).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from erc_data import ERCDataset
from iteach_app.data import DataBundle
from iteach_app.io import atomic_write_text
from iteach_app.report.audit import AuditReport, ModalityAudit, audit_modalities

AUDIT_VERSION = 1  # bump when the audit's probe or statistics change


def cache_dir() -> Path:
    """``$ITEACH_CACHE/audit``, else the user cache folder's ``iteach-app/audit``."""
    root = os.environ.get("ITEACH_CACHE")
    if root:
        return Path(root) / "audit"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "iteach-app" / "audit"


def audit_key(bundle: DataBundle) -> str:
    """Hex digest of what `audit_modalities` reads from ``bundle`` (see the module docstring)."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"audit v{AUDIT_VERSION} {bundle.task}".encode())
    scored = ("val", bundle.val) if len(bundle.val) else ("test", bundle.test)
    for split, dataset in (("train", bundle.train), scored):
        digest.update(f"split {split} {len(dataset)}".encode())
        _update(digest, dataset, tuple(bundle.modality_dims))
    return digest.hexdigest()


def _update(digest: hashlib.blake2b, dataset: ERCDataset, names: tuple[str, ...]) -> None:
    for conversation in dataset:
        labels = np.ascontiguousarray(conversation.labels)
        digest.update(f"{labels.dtype} {labels.shape}".encode())
        digest.update(labels.tobytes())
        for name in names:
            x = np.ascontiguousarray(conversation.features[name])
            seen = np.asarray(conversation.present.get(name, np.ones(len(x), bool)), dtype=bool)
            digest.update(f"{name} {x.dtype} {x.shape}".encode())
            digest.update(np.packbits(seen).tobytes())
            digest.update(x.tobytes())


def audit_lines(bundle: DataBundle) -> list[str]:
    """The audit's short lines for a run's console (cached: see `cached_audit`)."""
    report, _ = cached_audit(bundle)
    return report.short_lines()


def cached_audit(bundle: DataBundle, folder: Path | None = None) -> tuple[AuditReport, bool]:
    """The audit of ``bundle`` and whether it came from the cache (computed and stored if not)."""
    folder = folder if folder is not None else cache_dir()
    path = folder / f"{audit_key(bundle)}.json"
    report = _read(path)
    if report is not None:
        return report, True
    report = audit_modalities(bundle)
    with contextlib.suppress(OSError):  # a read-only cache costs the audit next time, no more
        atomic_write_text(path, json.dumps(dataclasses.asdict(report)) + "\n")
    return report, False


def _read(path: Path) -> AuditReport | None:
    """The report stored at ``path``; None when absent or unreadable (then recomputed)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        modalities = [ModalityAudit(**m) for m in stored.pop("modalities")]
        return AuditReport(modalities=modalities, **stored)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
