"""CSV cells a spreadsheet will not run: text starting with ``= + - @``, a tab or a carriage
return is read as a formula by Excel / LibreOffice (``=HYPERLINK(...)`` in an utterance id), so
such text gets a leading apostrophe, which spreadsheets show as plain text. Numbers stay numbers."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, or ``"'" + value`` for text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row with every text cell made safe (see `safe_cell`); the keys are checked too."""
    return {safe_cell(key): safe_cell(value) for key, value in row.items()}
