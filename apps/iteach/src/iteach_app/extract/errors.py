"""The errors feature extraction raises: each message names the row, file or package at fault."""

from __future__ import annotations

EXTRA_HINT = "pip install 'iteach-app[features]'"


class FeatureError(ValueError):
    """Input that cannot be turned into features as it is (a row, a file, a table)."""


class MissingExtraError(FeatureError):
    """An optional package of the ``features`` extra is not installed."""

    def __init__(self, package: str, purpose: str) -> None:
        self.package = package
        super().__init__(
            f"{purpose} need the package '{package}', which is not installed: {EXTRA_HINT}"
        )
