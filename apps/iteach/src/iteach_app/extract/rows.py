"""Media rows of an utterance table: the file and the optional ``[start, end)`` segment of each.

A table-wide fault (no such column, a repeated utterance id) raises at once. A fault of one row
(an empty path, a start that is not a number, an end before the start) is kept on the row as
``problem``, so the extraction can skip that row, say why, and go on with the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from iteach_app.extract.table import keyed_rows


@dataclass(frozen=True)
class MediaRow:
    """One utterance's media: ``path`` (None when the cell is empty) and segment in seconds."""

    number: int
    uid: str
    where: str
    path: Path | None
    start: float | None = None
    end: float | None = None
    problem: str | None = None

    def segment_text(self) -> str:
        """``[1.50, 3.00) s`` or ``whole file``, for messages."""
        if self.start is None and self.end is None:
            return "the whole file"
        start = 0.0 if self.start is None else self.start
        end = "end" if self.end is None else f"{self.end:.2f}"
        return f"segment [{start:.2f}, {end}) s"


def _seconds(value: object, column: str) -> tuple[float | None, str | None]:
    """``value`` of a time column as seconds (None when blank), or the problem with it."""
    if value is None or str(value).strip() == "":
        return None, None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None, f"the {column!r} cell {value!r} is not a number of seconds"
    if not math.isfinite(seconds) or seconds < 0:
        return None, f"the {column!r} cell {value!r} is not a time >= 0 s"
    return seconds, None


def read_media_rows(
    path: str | Path,
    column: str,
    *,
    start_column: str | None = None,
    end_column: str | None = None,
) -> list[MediaRow]:
    """Every row of the table as a `MediaRow`; relative paths start at the table's folder."""
    path = Path(path)
    media: list[MediaRow] = []
    for number, uid, where, row in keyed_rows(path, (column, start_column, end_column)):
        where = f"{where} (utterance {uid!r})"
        cell = row[column]
        file: Path | None = None
        problem = None
        if cell is None or str(cell).strip() == "":
            problem = f"the {column!r} cell is empty"
        else:
            file = Path(str(cell).strip())
            file = file if file.is_absolute() else path.parent / file
        start, start_problem = _seconds(row.get(start_column), str(start_column))
        end, end_problem = _seconds(row.get(end_column), str(end_column))
        problem = problem or start_problem or end_problem
        if problem is None and start is not None and end is not None and end <= start:
            problem = f"the segment [{start}, {end}) s is empty: the end is not after the start"
        media.append(MediaRow(number, uid, where, file, start, end, problem))
    return media
