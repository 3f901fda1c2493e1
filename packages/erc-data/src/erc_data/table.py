"""Read an utterance table (CSV or JSONL) into rows of plain strings and numbers."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from erc_data.errors import DataError

REQUIRED = ("conversation_id", "utterance_id", "speaker", "label")
OPTIONAL = ("order", "split")


def _normalised(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_KNOWN = {_normalised(c): c for c in (*REQUIRED, *OPTIONAL)}


def _check_columns(path: Path, number: int, row: dict[str, Any]) -> None:
    """Refuse an extra unnamed CSV field and a column that misspells a known one."""
    if None in row:
        raise DataError(
            f"{path}, row {number}: {len(row[None])} more field(s) than the header has columns "
            f"({row[None]!r}); quote values that hold commas"
        )
    for column in row:
        known = _KNOWN.get(_normalised(str(column)))
        if known is not None and column != known:
            raise DataError(
                f"{path}, row {number}: unknown column {column!r}; did you mean {known!r}? "
                "(column names are exact)"
            )


def read_table(path: Path, required: Sequence[str] = REQUIRED) -> list[dict[str, Any]]:
    """Rows of ``path`` (``.csv`` with a header row, or ``.jsonl`` one object per line), UTF-8.

    Columns other than `REQUIRED` and `OPTIONAL` are kept and ignored by the loader, except one
    that spells a known column differently (``Label``, ``utterance id``): that is an error.
    ``required`` lists the columns every row must fill (default: all of `REQUIRED`).
    """
    if not path.is_file():
        raise DataError(f"table not found: {path}")
    try:
        rows = _read_rows(path)
    except UnicodeDecodeError as err:
        bad = err.object[err.start : err.start + 1]
        raise DataError(
            f"{path} is not UTF-8 text (byte {err.start} is {bad!r}); save the table as UTF-8"
        ) from None
    except csv.Error as err:
        raise DataError(f"{path}: not a readable CSV table: {err}") from err
    if not rows:
        raise DataError(f"{path}: the table has no rows")
    for number, row in enumerate(rows, start=1):
        _check_columns(path, number, row)
        missing = [c for c in required if row.get(c) is None or str(row.get(c)) == ""]
        if missing and not (missing == ["speaker"] and "speaker" in row):
            raise DataError(f"{path}, row {number}: missing column(s) {missing}")
    return rows


def _check_unique(path: Path, where: str, names: Sequence[str]) -> None:
    """Refuse a name given twice: a dict keeps only the last, so one value would vanish."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}, {where}: column {name!r} appears twice; keep one")
        seen.add(name)


def _unique_keys(path: Path, line_no: int) -> Any:
    """``object_pairs_hook`` for json.loads that refuses an object with a repeated key."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        _check_unique(path, f"line {line_no}", [key for key, _ in pairs])
        return dict(pairs)

    return build


def _read_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            _check_unique(path, "header", reader.fieldnames or [])
            rows: list[dict[str, Any]] = list(reader)
    elif suffix in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8-sig") as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line, object_pairs_hook=_unique_keys(path, line_no))
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}, line {line_no}: not JSON: {err}") from err
                if not isinstance(row, dict):
                    raise DataError(f"{path}, line {line_no}: expected an object, got {row!r}")
                rows.append(row)
    else:
        raise DataError(f"{path}: table must be .csv or .jsonl, got {suffix!r}")
    return rows
