"""Utterances a modality could not give features for: one line each, and what ``--strict`` does.

An absent utterance is left out of the feature file (the loaders read it as a missing modality),
never written as zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.progress import progress_bar
from iteach_app.extract.rows import MediaRow


class RowError(FeatureError):
    """One row's media cannot give this modality's features (unreadable, no face, ...)."""


@dataclass
class Absences:
    """The rows a modality left out, with the reason for each, in table order."""

    modality: str
    lines: list[str] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)

    def add(self, row: MediaRow, reason: str) -> None:
        self.lines.append(f"{row.where}: {reason}")
        self.uids.append(row.uid)

    def summary(self, total: int) -> str:
        """``video: 2 of 6 utterances absent ('a', 'b')`` (or none)."""
        if not self.uids:
            return f"{self.modality}: no utterance absent ({total} of {total} extracted)"
        shown = ", ".join(repr(u) for u in self.uids[:10])
        more = f" and {len(self.uids) - 10} more" if len(self.uids) > 10 else ""
        return f"{self.modality}: {len(self.uids)} of {total} utterances absent ({shown}{more})"


def extract_rows(
    rows: Iterable[MediaRow],
    one: Callable[[MediaRow], np.ndarray],
    *,
    modality: str,
    strict: bool,
    show_progress: bool,
) -> tuple[dict[str, np.ndarray], Absences]:
    """``{uid: vector}`` of ``one(row)`` for every row and the rows that gave none.

    ``one`` raises `RowError` for a row it cannot do; with ``strict`` that (or a row's own
    problem) ends the run as a `FeatureError` naming the row, else the row is recorded as absent.
    """
    rows = list(rows)
    absences = Absences(modality)
    vectors: dict[str, np.ndarray] = {}
    with progress_bar(show_progress) as bar:
        task = bar.add_task(modality, total=len(rows))
        for row in rows:
            try:
                if row.problem is not None:
                    raise RowError(row.problem)
                vectors[row.uid] = one(row)
            except MissingExtraError:
                raise
            except RowError as err:
                if strict:
                    raise FeatureError(f"{row.where}: {err}") from None
                absences.add(row, str(err))
            bar.advance(task)
    return vectors, absences
