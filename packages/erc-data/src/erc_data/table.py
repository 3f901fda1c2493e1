"""Read an utterance table (CSV or JSONL) into rows of plain strings and numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from erc_data.errors import DataError

REQUIRED = ("conversation_id", "utterance_id", "speaker", "label")
OPTIONAL = ("order", "split")


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of ``path`` (``.csv`` with a header row, or ``.jsonl`` one object per line)."""
    if not path.is_file():
        raise DataError(f"table not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows: list[dict[str, Any]] = list(csv.DictReader(f))
    elif suffix in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}, line {line_no}: not JSON: {err}") from err
                if not isinstance(row, dict):
                    raise DataError(f"{path}, line {line_no}: expected an object, got {row!r}")
                rows.append(row)
    else:
        raise DataError(f"{path}: table must be .csv or .jsonl, got {suffix!r}")
    if not rows:
        raise DataError(f"{path}: the table has no rows")
    for number, row in enumerate(rows, start=1):
        missing = [c for c in REQUIRED if row.get(c) is None or str(row.get(c)) == ""]
        if missing and not (missing == ["speaker"] and "speaker" in row):
            raise DataError(f"{path}, row {number}: missing column(s) {missing}")
    return rows
