"""The errors erc_data raises: one base class, so callers can catch every data problem at once."""

from __future__ import annotations


class DataError(ValueError):
    """A dataset, file or table that cannot be used as it is; the message names the culprit."""


class UnsafePickleError(DataError):
    """A pickle asked for a global outside the allow-list; nothing it asked for was called."""

    def __init__(self, path: str, module: str, name: str) -> None:
        self.path = path
        self.module = module
        self.name = name
        super().__init__(
            f"refused to unpickle {path}: it asks for the global '{module}.{name}', which is not "
            "on the allow-list (builtins containers and numpy's array reconstructors only)"
        )
