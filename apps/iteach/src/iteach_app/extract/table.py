"""Read one column of an utterance table (erc-data's own CSV / JSONL format), keyed by utterance id.

Only ``utterance_id`` and the chosen column are needed, so tables without labels (for predict)
work too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from erc_data.errors import DataError
from erc_data.table import read_table
from iteach_app.extract.errors import FeatureError


def read_rows(path: Path) -> list[dict[str, object]]:
    """Rows of a ``.csv`` (header row) or ``.jsonl`` (one object per line) table, read by
    erc-data's own table reader (UTF-8, byte-order mark allowed, misspelled columns refused)."""
    try:
        return read_table(path, required=())
    except DataError as err:
        raise FeatureError(str(err)) from None


def keyed_rows(
    path: Path, columns: tuple[str | None, ...]
) -> Iterator[tuple[int, str, str, dict[str, object]]]:
    """``(number, utterance id, where, row)`` for each row of the table at ``path``, after the
    table-wide checks: every row has an ``utterance_id``, no id repeats, and every named column
    (None: not asked for) is present. ``where`` is "PATH, row N" for messages."""
    seen: dict[str, int] = {}
    for number, row in enumerate(read_rows(path), start=1):
        where = f"{path}, row {number}"
        uid = row.get("utterance_id")
        if uid is None or str(uid).strip() == "":
            raise FeatureError(f"{where}: no 'utterance_id'")
        uid = str(uid)
        if uid in seen:
            raise FeatureError(f"{where}: utterance id {uid!r} already used in row {seen[uid]}")
        seen[uid] = number
        for wanted in columns:
            if wanted is not None and wanted not in row:
                present = sorted(k for k in row if k is not None)
                raise FeatureError(f"{where}: no column {wanted!r} (columns: {present})")
        yield number, uid, where, row


def read_column(path: str | Path, column: str) -> dict[str, str]:
    """``{utterance_id: cell}`` for ``column`` in table order; every cell must be non-blank.

    Rows are numbered from 1 after the header (CSV) or among non-blank lines (JSONL), as in
    erc-data's messages.
    """
    cells: dict[str, str] = {}
    for _, uid, where, row in keyed_rows(Path(path), (column,)):
        value = row[column]
        if value is None or str(value).strip() == "":
            raise FeatureError(f"{where} (utterance {uid!r}): the {column!r} cell is empty")
        cells[uid] = str(value)
    return cells


def read_paths(path: str | Path, column: str) -> dict[str, Path]:
    """``{utterance_id: file}`` from ``column``; relative paths start at the table's folder."""
    path = Path(path)
    return {
        uid: cell_path if cell_path.is_absolute() else path.parent / cell_path
        for uid, cell_path in ((u, Path(c.strip())) for u, c in read_column(path, column).items())
    }
