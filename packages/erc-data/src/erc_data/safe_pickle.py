"""A restricted unpickler: builtins containers and numpy's array reconstructors, nothing else.

Protocol <= 2 pickles rebuild ``bytes`` with ``_codecs.encode(text, "latin1")``; that one call is
admitted through a wrapper that accepts the latin-1 encoding only. Calls that allocate from a number
(``bytearray(n)``, ``bytes(n)``, an empty ``ndarray`` of a shape) share a budget of the file's size
plus 1 MiB, and the loaded object may nest at most `MAX_DEPTH` containers deep.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
from typing import Any

import numpy as np

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


MAX_DEPTH = 64  # GCNet label pickles nest 3 deep; a deeper object is refused, never walked by repr
_BUDGET_SLACK = 1 << 20  # bytes any pickle may allocate from numbers, on top of its own size


class _AllocationBudget:
    """Bytes a pickle may still allocate from numbers (not from data it carries)."""

    def __init__(self, path: str, file_size: int) -> None:
        self.path = path
        self.left = file_size + _BUDGET_SLACK
        self.limit = self.left

    def take(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise DataError(
                f"refused to unpickle {self.path}: {what} would allocate {nbytes} bytes, more than "
                f"the {self.limit} allowed for a file of this size"
            )
        self.left -= nbytes


def _capped_sequence(kind: type, budget: _AllocationBudget) -> Any:
    """``bytes`` / ``bytearray`` whose size-from-an-int form is charged to ``budget``."""

    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            budget.take(max(0, args[0]), f"{kind.__name__}({args[0]})")
        return kind(*args)

    return build


def _charge_array(budget: _AllocationBudget, shape: Any, dtype: Any) -> None:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    count = math.prod(int(d) for d in dims)
    budget.take(count * np.dtype(dtype).itemsize, f"an array of shape {dims}")


class _CappedNdarray:
    """What ``numpy.ndarray`` resolves to: calling it is charged; as a subtype it means ndarray."""

    def __init__(self, budget: _AllocationBudget) -> None:
        self._budget = budget

    def __call__(self, shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> np.ndarray:
        if args or kwargs:
            raise pickle.UnpicklingError("numpy.ndarray with a buffer is not allowed")
        _charge_array(self._budget, shape, dtype)
        return np.ndarray(shape, dtype)


def _capped_reconstruct(reconstruct: Any, budget: _AllocationBudget) -> Any:
    """numpy's ``_reconstruct(ndarray, shape, dtype)``, charged for the array it allocates."""

    def build(subtype: Any, shape: Any, dtype: Any) -> Any:
        if not isinstance(subtype, _CappedNdarray):
            raise pickle.UnpicklingError(f"_reconstruct of {subtype!r} is not allowed")
        _charge_array(budget, shape, dtype)
        return reconstruct(np.ndarray, shape, dtype)

    return build


def check_nesting(value: Any, path: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than ``max_depth`` or holding themselves; linear time."""
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            done.add(id(node))
            continue
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, (list, tuple, set, frozenset)):
            children = list(node)
        elif isinstance(node, np.ndarray) and node.dtype.hasobject:
            children = node.ravel().tolist()
        else:
            continue
        if id(node) in on_path:
            raise DataError(f"refused {path}: it holds a container that contains itself")
        if id(node) in done:
            continue
        if depth > max_depth:
            raise DataError(
                f"refused {path}: containers nested more than {max_depth} deep (a label pickle "
                "nests a few levels)"
            )
        on_path.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


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

    def __init__(self, file: Any, path: str, file_size: int, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._path = path
        self._budget = _AllocationBudget(path, file_size)

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # Python 2 name of builtins, written by protocol <= 2
            module = "builtins"
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(self._path, module, name)
        if module == "builtins" and name in ("bytes", "bytearray"):
            return _capped_sequence(bytes if name == "bytes" else bytearray, self._budget)
        if module == "builtins":
            return super().find_class(module, name)
        if module == "_codecs":
            return _latin1_bytes
        where, attr = _NUMPY[(module, name)]
        source = importlib.import_module("numpy") if where == "numpy" else _numpy_core(where)
        if attr == "ndarray":
            return _CappedNdarray(self._budget)
        if attr == "_reconstruct":
            return _capped_reconstruct(source._reconstruct, self._budget)
        return getattr(source, attr)


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """Read a pickle with `RestrictedUnpickler`; a refused global raises `UnsafePickleError`.

    Python-2 pickles are read with ``encoding="latin1"``, as the GCNet loaders do. Anything else
    that goes wrong (a truncated or malformed file, an oversized allocation, nesting deeper than
    `MAX_DEPTH`) raises `DataError` naming the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            value = RestrictedUnpickler(f, path, size, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"pickle not found: {path}") from None
    except DataError:
        raise
    except (pickle.UnpicklingError, EOFError) as err:
        raise DataError(f"{path} is not a readable pickle: {err}") from err
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError) as err:
        raise DataError(f"{path} is not a usable pickle: {type(err).__name__}: {err}") from err
    except (MemoryError, RecursionError) as err:
        raise DataError(f"refused {path}: unpickling it ran out of {type(err).__name__}") from err
    check_nesting(value, path)
    return value
