"""The progress bar every long command shows on stderr: what it is doing, a bar, done / total,
elapsed and remaining time. Transient: it vanishes when done (and from --log-file copies)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(show: bool = True, console: Console | None = None) -> Progress:
    """A transient rich progress bar on stderr (or ``console``); ``show=False`` draws nothing."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=not show,
        transient=True,
    )
