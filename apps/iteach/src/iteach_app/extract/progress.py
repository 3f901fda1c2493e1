"""The progress bar that extraction shows: the app's one bar (description, bar, done / total,
elapsed and remaining time)."""

from __future__ import annotations

from iteach_app.progress import progress_bar

__all__ = ["progress_bar"]
