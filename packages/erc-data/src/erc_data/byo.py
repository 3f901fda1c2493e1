"""Bring your own conversations: an utterance table plus feature arrays keyed by utterance id."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from erc_data.dataset import ERCDataset, Task
from erc_data.errors import DataError
from erc_data.features import read_feature_folder, reduce_feature, stack_checked
from erc_data.npz import npz_keys, open_npz, read_member
from erc_data.packed import PackedDataset
from erc_data.table import REQUIRED, read_table

_SPLITS = ("train", "val", "test")
MAX_CLASSES = 1000  # inferred from the largest class index; more is a typo, not a label set


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _npz_keys(path: Path) -> set[str]:
    """The member names of the .npz at ``path`` (without reading the arrays)."""
    with open_npz(path) as archive:
        return set(npz_keys(archive))


def _folder_keys(folder: Path, utterance_ids: Sequence[str]) -> set[str]:
    """The ids of ``utterance_ids`` that have a ``<id>.npy`` file or ``<id>/`` folder."""
    if not folder.is_dir():
        raise DataError(f"feature folder not found: {folder}")
    with os.scandir(folder) as it:
        entries = {e.name: e.is_dir() for e in it}
    return {u for u in utterance_ids if f"{u}.npy" in entries or entries.get(u)}


def _read_modality(
    path: Path,
    utterance_ids: Sequence[str],
    missing: str,
    workers: int,
    allow_outside_links: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, D) features of one modality and, with ``missing="absent"``, its (N,) present mask
    (absent rows are zeros; None when every utterance has an array)."""
    is_npz = path.suffix == ".npz" and path.is_file()
    found = list(range(len(utterance_ids)))
    if missing == "absent":
        keys = _npz_keys(path) if is_npz else _folder_keys(path, utterance_ids)
        found = [i for i, u in enumerate(utterance_ids) if u in keys]
        if not found:
            raise DataError(
                f"none of the {len(utterance_ids)} utterances has features in {path}, so their "
                "width is unknown; leave the modality out instead"
            )
    ids = [utterance_ids[i] for i in found]
    if is_npz:
        rows = _read_npz(path, ids)
    else:
        rows = read_feature_folder(
            path, ids, workers=workers, allow_outside_links=allow_outside_links
        )
    if len(found) == len(utterance_ids):
        return rows, None
    full = np.zeros((len(utterance_ids), rows.shape[1]), dtype=np.float32)
    full[found] = rows
    present = np.zeros(len(utterance_ids), dtype=bool)
    present[found] = True
    return full, present


def _read_npz(path: Path, utterance_ids: Sequence[str]) -> np.ndarray:
    """(N, D) rows of ``path`` (an .npz keyed by utterance id) in the order of ``utterance_ids``."""
    with open_npz(path) as archive:
        keys = set(npz_keys(archive))
        missing = [u for u in utterance_ids if u not in keys]
        if missing:
            raise DataError(
                f"{len(missing)} of {len(utterance_ids)} utterances have no array in {path}, "
                f"e.g. {missing[:5]}"
            )
        vectors = []
        for u in utterance_ids:
            where = f"{path}[{u!r}]"
            vectors.append(reduce_feature(read_member(archive, u, where), where))
    return stack_checked(vectors, [f"{path}[{u!r}]" for u in utterance_ids])


def _as_number(value: Any, where: str) -> float | None:
    """``value`` as a float when it is a number (or numeric text); None for a name."""
    if isinstance(value, bool):
        raise DataError(f"label {value!r} of {where} is a boolean; use a class name or index")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise DataError(f"label {value!r} of {where} is a {type(value).__name__}, not a label")
    try:
        return float(value)
    except ValueError:
        return None


def _labels(
    raw: list[Any],
    where: list[str],
    task: Task | None,
    num_classes: int | None,
    label_names: Sequence[str] | None,
) -> tuple[np.ndarray, Task, int | None, list[str]]:
    """(labels, task, num_classes, class names) from the table's label values.

    Names become classes (sorted, or in the order of ``label_names``); numbers give classes when
    every one is a non-negative integer value (``2``, ``2.0``, ``"2"``), else regression.
    """
    if task not in (None, "classification", "regression"):
        raise DataError(f"task must be 'classification', 'regression' or None, got {task!r}")
    numbers = [_as_number(v, w) for v, w in zip(raw, where, strict=True)]
    names_at = [k for k, x in enumerate(numbers) if x is None]
    if label_names is not None or names_at:
        if task == "regression":
            k = names_at[0] if names_at else 0
            raise DataError(
                f"label {raw[k]!r} of {where[k]} is a class name, but task='regression'"
            )
        if label_names is None:
            numbers_at = [k for k, x in enumerate(numbers) if x is not None]
            if numbers_at:
                a, b = names_at[0], numbers_at[0]
                raise DataError(
                    f"labels mix names and numbers: {raw[a]!r} ({where[a]}) and {raw[b]!r} "
                    f"({where[b]}); use one kind, or list every name in label_names"
                )
            label_names = sorted({str(raw[k]) for k in names_at})
        names = [str(n) for n in label_names]
        if len(set(names)) != len(names):
            raise DataError(f"label_names repeats a name: {names}")
        index = {n: i for i, n in enumerate(names)}
        for v, w in zip(raw, where, strict=True):
            if str(v) not in index:
                raise DataError(f"label {v!r} of {w} is not one of the label names {names}")
        if num_classes is not None and num_classes != len(names):
            raise DataError(f"num_classes={num_classes} but there are {len(names)} label names")
        ys = [index[str(v)] for v in raw]
        return np.array(ys, dtype=np.int64), "classification", len(names), names
    for x, v, w in zip(numbers, raw, where, strict=True):
        if not math.isfinite(x):
            raise DataError(f"label {v!r} of {w} is not finite")
    as_classes = all(x.is_integer() and x >= 0 for x in numbers)
    if task is None:
        task = "classification" if as_classes else "regression"
    if task == "regression":
        return np.array(numbers, dtype=np.float32), "regression", None, []
    for x, v, w in zip(numbers, raw, where, strict=True):
        if not (x.is_integer() and x >= 0):
            raise DataError(f"label {v!r} of {w} is not a class index (or pass label_names)")
    ys = [int(x) for x in numbers]
    classes = num_classes if num_classes is not None else max(ys) + 1
    if num_classes is None and classes > MAX_CLASSES:
        k = ys.index(classes - 1)
        raise DataError(
            f"label {raw[k]!r} of {where[k]} would make {classes} classes (labels are class "
            f"indices 0..K-1; {len(set(ys))} distinct values appear, at most {MAX_CLASSES} "
            "classes are allowed); number the classes 0..K-1 or use class names"
        )
    for w, y in zip(where, ys, strict=True):
        if not 0 <= y < classes:
            raise DataError(f"label {y} of {w} is outside the classes 0..{classes - 1}")
    return np.array(ys, dtype=np.int64), "classification", classes, []


def _optional_column(rows: list[dict[str, Any]], column: str, table: Path) -> bool:
    """Whether ``column`` is used: present in every row, or in none (else an error naming a row)."""
    has = [column in r and r[column] not in (None, "") for r in rows]
    if not any(has):
        return False
    if not all(has):
        k, present = (has.index(False), has.index(True))
        raise DataError(
            f"{table}, row {k + 1}: no {column!r}, but row {present + 1} has one; give every row "
            f"a {column!r} or none"
        )
    return True


def load_conversations(
    table_path: str | os.PathLike[str],
    feature_dirs: Mapping[str, str | os.PathLike[str]],
    *,
    name: str | None = None,
    task: Task | None = None,
    num_classes: int | None = None,
    label_names: Sequence[str] | None = None,
    workers: int = 4,
    allow_outside_links: bool = False,
    missing: Literal["error", "absent"] = "error",
    require_labels: bool = True,
) -> ERCDataset:
    """Load conversations from a table and per-modality feature arrays (see the README).

    ``table_path``: .csv or .jsonl with ``conversation_id, utterance_id, speaker, label`` and
    optionally ``order`` (sorts utterances within a conversation) and ``split`` (train/val/test).
    ``feature_dirs``: modality -> a folder of ``<utterance_id>.npy`` or an ``.npz`` keyed by
    utterance id. Labels: class names (classes sorted by name, or in the order of
    ``label_names``), class indices (every label a non-negative integer value, ``2.0`` included),
    or float scores (regression); ``task`` overrides the inference. Utterance ids are unique over
    the whole table (all splits), and a conversation belongs to one split.

    ``missing="absent"`` (for prediction) reads an utterance without an array in a modality as
    absent: a zero row, marked False in ``Conversation.present``; the default is an error.
    ``require_labels=False`` accepts a table without labels (every row or none labelled); then
    ``task`` must be given, and the labels are -100 (classification) or NaN (regression).
    """
    table = Path(table_path)
    if not feature_dirs:
        raise DataError(f"{table}: feature_dirs is empty; map at least one modality to features")
    if missing not in ("error", "absent"):
        raise DataError(f"missing must be 'error' or 'absent', got {missing!r}")
    rows = read_table(table, REQUIRED if require_labels else [c for c in REQUIRED if c != "label"])
    where = [f"{table}, row {i}" for i in range(1, len(rows) + 1)]
    seen: dict[str, str] = {}
    for w, row in zip(where, rows, strict=True):
        uid = str(row["utterance_id"])
        if uid in seen:
            raise DataError(
                f"utterance id {uid!r} appears twice: {seen[uid]} and {w} (ids must be unique "
                "over the whole table, all splits together)"
            )
        seen[uid] = w
    if _optional_column(rows, "order", table):
        keys = []
        for w, r in zip(where, rows, strict=True):
            value = r["order"]
            number = None if isinstance(value, bool) else _float_or_none(value)
            if number is None or not math.isfinite(number):
                raise DataError(f"{w}: 'order' is {value!r}, not a finite number")
            keys.append(number)
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
    if _optional_column(rows, "split", table):
        for c in conversation_ids:
            first_row = groups[c][0]
            for i in groups[c]:
                value = str(rows[i]["split"])
                if value not in _SPLITS:
                    raise DataError(f"{where[i]}: split {value!r} is not one of {list(_SPLITS)}")
                if value != str(rows[first_row]["split"]):
                    raise DataError(
                        f"conversation {c!r} is in two splits: {where[first_row]} says "
                        f"{rows[first_row]['split']!r}, {where[i]} says {value!r}; conversation "
                        "ids must be unique across splits"
                    )
            release_split[c] = str(rows[first_row]["split"])
        if "test" not in release_split.values():
            raise DataError(
                f"{table}: the split column names no 'test' conversation; mark the test "
                "conversations, or drop the column to have them drawn at random"
            )
    if require_labels or _optional_column(rows, "label", table):
        labels, task, num_classes, class_names = _labels(
            [rows[i]["label"] for i in flat],
            [where[i] for i in flat],
            task,
            num_classes,
            label_names,
        )
    else:
        labels, num_classes, class_names = _no_labels(
            table, task, num_classes, label_names, len(flat)
        )
    utterance_ids = [str(rows[i]["utterance_id"]) for i in flat]
    speaker_strings = [str(rows[i].get("speaker") or "") for i in flat]
    speaker_names = sorted(set(speaker_strings))
    speaker_index = {s: k for k, s in enumerate(speaker_names)}
    features, present = {}, {}
    for m, source in feature_dirs.items():
        features[m], observed = _read_modality(
            Path(source), utterance_ids, missing, workers, allow_outside_links
        )
        if observed is not None:
            present[m] = observed
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
        label_names=class_names,
        present=present,
    ).to_dataset()


def _no_labels(
    table: Path,
    task: Task | None,
    num_classes: int | None,
    label_names: Sequence[str] | None,
    num_rows: int,
) -> tuple[np.ndarray, int | None, list[str]]:
    """Placeholder labels of an unlabelled table: -100 (classification) or NaN (regression)."""
    if task not in ("classification", "regression"):
        raise DataError(f"{table} has no labels: pass task='classification' or 'regression'")
    if task == "regression":
        return np.full(num_rows, np.nan, dtype=np.float32), None, []
    names = [str(n) for n in label_names or ()]
    classes = len(names) if names else num_classes
    if classes is None:
        raise DataError(f"{table} has no labels: pass label_names or num_classes")
    return np.full(num_rows, -100, dtype=np.int64), classes, names


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
