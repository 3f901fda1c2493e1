"""The progress bar every long command shows on stderr: what it is doing, a bar, done / total,
elapsed and remaining time. Transient: it vanishes when done (and from --log-file copies)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(
    show: bool = True, console: Console | None = None, *extra: ProgressColumn
) -> Progress:
    """A transient rich progress bar on stderr (or ``console``); ``show=False`` draws nothing;
    ``extra`` columns follow the remaining time (training adds its running loss)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        *extra,
        console=console or Console(stderr=True),
        disable=not show,
        transient=True,
    )
