"""A restricted unpickler: builtins containers and numpy's array reconstructors, nothing else.

Protocol <= 2 pickles rebuild ``bytes`` with ``_codecs.encode(text, "latin1")``; that one call is
admitted through a wrapper that accepts the latin-1 encoding only.
"""

from __future__ import annotations

import importlib
import os
import pickle
from typing import Any

from erc_data.errors import DataError, UnsafePickleError

_BUILTINS = frozenset(
    {"dict", "list", "set", "frozenset", "tuple", "str", "bytes", "bytearray"}
    | {"int", "float", "complex", "bool"}
)
# (module, name) -> where to import it from in the installed numpy (numpy 2 moved numpy.core).
_NUMPY = {
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
}
for _core in ("numpy.core", "numpy._core"):
    _NUMPY[(f"{_core}.multiarray", "_reconstruct")] = ("multiarray", "_reconstruct")
    _NUMPY[(f"{_core}.multiarray", "scalar")] = ("multiarray", "scalar")
    _NUMPY[(f"{_core}.numeric", "_frombuffer")] = ("numeric", "_frombuffer")

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {("builtins", n) for n in _BUILTINS} | set(_NUMPY) | {("_codecs", "encode")}
)


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """What protocol <= 2 pickles call to rebuild ``bytes`` (numpy array data): latin-1 only."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


def _numpy_core(submodule: str) -> Any:
    for base in ("numpy._core", "numpy.core"):
        try:
            return importlib.import_module(f"{base}.{submodule}")
        except ImportError:
            continue
    raise ImportError(f"numpy has no core.{submodule}")


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` admits only `ALLOWED_GLOBALS`."""

    def __init__(self, file: Any, path: str, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # Python 2 name of builtins, written by protocol <= 2
            module = "builtins"
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(self._path, module, name)
        if module == "builtins":
            return super().find_class(module, name)
        if module == "_codecs":
            return _latin1_bytes
        where, attr = _NUMPY[(module, name)]
        source = importlib.import_module("numpy") if where == "numpy" else _numpy_core(where)
        return getattr(source, attr)


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """Read a pickle with `RestrictedUnpickler`; a refused global raises `UnsafePickleError`.

    Python-2 pickles are read with ``encoding="latin1"``, as the GCNet loaders do.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, path, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"pickle not found: {path}") from None
    except (pickle.UnpicklingError, EOFError) as err:
        raise DataError(f"{path} is not a readable pickle: {err}") from err
