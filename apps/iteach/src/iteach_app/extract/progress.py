"""The progress bar that extraction shows: description, bar, done / total, elapsed time."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(show: bool, console: Console | None = None) -> Progress:
    """A transient rich progress bar on stderr; ``show=False`` draws nothing."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not show,
        transient=True,
    )
