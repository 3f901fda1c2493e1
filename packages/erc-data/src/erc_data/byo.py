"""Bring your own conversations: an utterance table plus feature arrays keyed by utterance id."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from erc_data.dataset import ERCDataset, Task
from erc_data.errors import DataError
from erc_data.features import read_feature_folder, reduce_feature, stack_checked
from erc_data.packed import PackedDataset
from erc_data.table import read_table

_INT = re.compile(r"^-?\d+$")
_SPLITS = ("train", "val", "test")


def _read_npz(path: Path, utterance_ids: Sequence[str]) -> np.ndarray:
    """(N, D) rows of ``path`` (an .npz keyed by utterance id) in the order of ``utterance_ids``."""
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        missing = [u for u in utterance_ids if u not in keys]
        if missing:
            raise DataError(
                f"{len(missing)} of {len(utterance_ids)} utterances have no array in {path}, "
                f"e.g. {missing[:5]}"
            )
        vectors = [reduce_feature(z[u], f"{path}[{u!r}]") for u in utterance_ids]
    return stack_checked(vectors, [f"{path}[{u!r}]" for u in utterance_ids])


def _labels(
    raw: list[Any],
    where: list[str],
    task: Task | None,
    num_classes: int | None,
    label_names: Sequence[str] | None,
) -> tuple[np.ndarray, Task, int | None]:
    """Parse labels: class indices, class names (``label_names``) or float scores."""
    if label_names is not None:
        index = {n: i for i, n in enumerate(label_names)}
        bad = [(w, v) for w, v in zip(where, raw, strict=True) if str(v) not in index]
        if bad:
            raise DataError(f"label {bad[0][1]!r} of {bad[0][0]} is not in {list(label_names)}")
        ys = [index[str(v)] for v in raw]
        return np.array(ys, dtype=np.int64), "classification", len(label_names)
    as_int = all(isinstance(v, int) or (isinstance(v, str) and _INT.match(v)) for v in raw)
    if task is None:
        task = "classification" if as_int else "regression"
    if task == "classification":
        if not as_int:
            w, v = next((w, v) for w, v in zip(where, raw, strict=True) if not _INT.match(str(v)))
            raise DataError(f"label {v!r} of {w} is not a class index (or pass label_names)")
        ys = [int(v) for v in raw]
        classes = num_classes if num_classes is not None else max(ys) + 1
        for w, y in zip(where, ys, strict=True):
            if not 0 <= y < classes:
                raise DataError(f"label {y} of {w} is outside the classes 0..{classes - 1}")
        return np.array(ys, dtype=np.int64), task, classes
    values = []
    for w, v in zip(where, raw, strict=True):
        try:
            y = float(v)
        except (TypeError, ValueError):
            raise DataError(f"label {v!r} of {w} is not a number") from None
        if not math.isfinite(y):
            raise DataError(f"label {v!r} of {w} is not finite")
        values.append(y)
    return np.array(values, dtype=np.float32), "regression", None


def load_conversations(
    table_path: str | os.PathLike[str],
    feature_dirs: Mapping[str, str | os.PathLike[str]],
    *,
    name: str | None = None,
    task: Task | None = None,
    num_classes: int | None = None,
    label_names: Sequence[str] | None = None,
    workers: int = 4,
) -> ERCDataset:
    """Load conversations from a table and per-modality feature arrays (see the README).

    ``table_path``: .csv or .jsonl with ``conversation_id, utterance_id, speaker, label`` and
    optionally ``order`` (sorts utterances within a conversation) and ``split`` (train/val/test).
    ``feature_dirs``: modality -> a folder of ``<utterance_id>.npy`` or an ``.npz`` keyed by
    utterance id. Labels: class indices, names listed in ``label_names``, or float scores;
    ``task`` is inferred (all integers -> classification) unless given.
    """
    table = Path(table_path)
    if not feature_dirs:
        raise DataError(f"{table}: feature_dirs is empty; map at least one modality to features")
    rows = read_table(table)
    where = [f"{table}, row {i}" for i in range(1, len(rows) + 1)]
    seen: dict[str, str] = {}
    for w, row in zip(where, rows, strict=True):
        uid = str(row["utterance_id"])
        if uid in seen:
            raise DataError(f"utterance id {uid!r} appears twice: {seen[uid]} and {w}")
        seen[uid] = w
    if "order" in rows[0]:
        try:
            keys = [float(r["order"]) for r in rows]
        except (TypeError, ValueError, KeyError) as err:
            raise DataError(f"{table}: every row needs a numeric 'order': {err}") from err
        order = sorted(range(len(rows)), key=lambda i: keys[i])
    else:
        order = list(range(len(rows)))
    groups: dict[str, list[int]] = {}
    for i in order:
        groups.setdefault(str(rows[i]["conversation_id"]), []).append(i)
    first = {c: min(idx) for c, idx in groups.items()}
    conversation_ids = sorted(groups, key=first.__getitem__)
    flat = [i for c in conversation_ids for i in groups[c]]
    release_split = {}
    if "split" in rows[0]:
        for c in conversation_ids:
            values = {str(rows[i].get("split", "")) for i in groups[c]}
            if len(values) != 1 or not values <= set(_SPLITS):
                raise DataError(f"{table}: conversation {c!r} has split {sorted(values)}; "
                                f"expected one of {list(_SPLITS)}")  # fmt: skip
            release_split[c] = values.pop()
    labels, task, num_classes = _labels(
        [rows[i]["label"] for i in flat], [where[i] for i in flat], task, num_classes, label_names
    )
    utterance_ids = [str(rows[i]["utterance_id"]) for i in flat]
    speaker_strings = [str(rows[i].get("speaker") or "") for i in flat]
    speaker_names = sorted(set(speaker_strings))
    speaker_index = {s: k for k, s in enumerate(speaker_names)}
    features = {}
    for m, source in feature_dirs.items():
        path = Path(source)
        if path.suffix == ".npz" and path.is_file():
            features[m] = _read_npz(path, utterance_ids)
        else:
            features[m] = read_feature_folder(path, utterance_ids, workers=workers)
    return PackedDataset(
        name=name or table.stem,
        task=task,
        num_classes=num_classes,
        conversation_ids=conversation_ids,
        lengths=np.array([len(groups[c]) for c in conversation_ids], dtype=np.int64),
        utterance_ids=utterance_ids,
        speakers=np.array([speaker_index[s] for s in speaker_strings], dtype=np.int64),
        labels=labels,
        features=features,
        speaker_names=speaker_names,
        release_split=release_split,
    ).to_dataset()


def save_conversations(
    dataset: ERCDataset, table_path: str | os.PathLike[str], features_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write ``dataset`` in the bring-your-own format: the table plus one ``<modality>.npz`` each.

    Returns modality -> .npz path, ready to pass to `load_conversations` as ``feature_dirs``.
    """
    table = Path(table_path)
    out = Path(features_dir)
    out.mkdir(parents=True, exist_ok=True)
    table.parent.mkdir(parents=True, exist_ok=True)
    has_split = len(dataset) > 0 and all(c.id in dataset.release_split for c in dataset)
    rows = [
        {
            "conversation_id": conv.id,
            "utterance_id": uid,
            "speaker": dataset.speaker_names[s] if dataset.speaker_names else str(s),
            "label": y,
            "order": k,
            **({"split": dataset.release_split[conv.id]} if has_split else {}),
        }
        for conv in dataset
        for k, (uid, s, y) in enumerate(
            zip(conv.utterance_ids, conv.speakers.tolist(), conv.labels.tolist(), strict=True)
        )
    ]
    if table.suffix.lower() == ".csv":
        with open(table, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        with open(table, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    paths = {}
    for m in dataset.modalities:
        arrays = {
            u: x
            for conv in dataset
            for u, x in zip(conv.utterance_ids, conv.features[m], strict=True)
        }
        paths[m] = out / f"{m}.npz"
        np.savez(paths[m], **arrays)
    return paths
