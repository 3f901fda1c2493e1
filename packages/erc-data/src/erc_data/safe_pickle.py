"""A restricted unpickler: builtins containers and numpy's array reconstructors, nothing else.

Protocol <= 2 pickles rebuild ``bytes`` with ``_codecs.encode(text, "latin1")``; that one call is
admitted through a wrapper that accepts the latin-1 encoding only. Calls that allocate from a number
(``bytearray(n)``, ``bytes(n)``, an empty ``ndarray`` of a shape) share a budget of the file's size
plus 1 MiB, and the loaded object may nest at most `MAX_DEPTH` containers deep. A dict or set may
hold at most `MAX_FORCEABLE_KEYS` keys whose hashes a file can force to collide (large ints,
floats, tuples), checked before they are inserted: 120k colliding keys would otherwise take
minutes of CPU inside the allocation and depth caps.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
from typing import Any, ClassVar

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


MAX_FORCEABLE_KEYS = 1000  # keys per dict / set whose hash a file can choose (see _KeyBudget)
_HASH_MODULUS = 2**61 - 1  # CPython hashes an int to itself modulo this prime


def _hash_is_fixed_by_value(key: Any) -> bool:
    """True for keys whose hashes are distinct or secret: str and bytes (SipHash with a
    per-process key), None, bools and ints below the hash modulus (an int hashes to itself).
    Large ints, floats and tuples hash by public arithmetic, so a file can make thousands
    collide, and building a dict of n such keys then costs n^2 / 2 comparisons."""
    if key is None or isinstance(key, (str, bytes, bool)):
        return True
    return type(key) is int and -_HASH_MODULUS < key < _HASH_MODULUS


class _KeyBudget:
    """Counts, per dict / set being built, the keys whose hashes could be forced to collide."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.counts: dict[int, tuple[Any, int]] = {}

    def admit(self, container: Any, keys: Any, kind: str | None = None) -> None:
        """Count ``keys`` going into ``container`` (None: one built whole, named ``kind``)."""
        forceable = sum(1 for key in keys if not _hash_is_fixed_by_value(key))
        if not forceable:
            return
        total = forceable
        if container is not None:
            total += self.counts.get(id(container), (None, 0))[1]
        if total > MAX_FORCEABLE_KEYS:
            raise DataError(
                f"refused to unpickle {self.path}: a {kind or type(container).__name__} with "
                f"more than {MAX_FORCEABLE_KEYS} keys that are large integers, floats or tuples "
                "(their hashes can be made to collide, which makes loading take minutes); label "
                "pickles key by names or small integers"
            )
        if container is not None:  # the reference keeps the id from being reused meanwhile
            self.counts[id(container)] = (container, total)


def _checked_container(kind: type, keys: _KeyBudget) -> Any:
    """``set`` / ``frozenset`` / ``dict`` called by a REDUCE, keys admitted before building."""

    def build(*args: Any) -> Any:
        if args:
            items = list(args[0].keys() if isinstance(args[0], dict) else args[0])
            if kind is dict:
                items = [pair[0] for pair in items]
            keys.admit(None, items, kind.__name__)
        return kind(*args)

    return build


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """The pure-Python `pickle` unpickler whose `find_class` admits only `ALLOWED_GLOBALS` and
    whose dict and set opcodes check their keys before inserting them (the C unpickler inserts
    keys where no check can reach; label pickles are small, so the slower reader costs
    milliseconds)."""

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: Any, path: str, file_size: int, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._path = path
        self._budget = _AllocationBudget(path, file_size)
        self._keys = _KeyBudget(path)

    def load_setitem(self) -> None:
        stack = self.stack
        value = stack.pop()
        key = stack.pop()
        self._keys.admit(stack[-1], (key,))
        stack[-1][key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        self._keys.admit(target, items[::2])
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        self._keys.admit(target, items)
        if isinstance(target, set):
            target.update(items)
        else:
            for item in items:
                target.add(item)

    def load_frozenset(self) -> None:
        items = self.pop_mark()
        self._keys.admit(None, items, "frozenset")
        self.append(frozenset(items))

    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # Python 2 name of builtins, written by protocol <= 2
            module = "builtins"
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(self._path, module, name)
        if module == "builtins" and name in ("bytes", "bytearray"):
            return _capped_sequence(bytes if name == "bytes" else bytearray, self._budget)
        if module == "builtins" and name in ("set", "frozenset", "dict"):
            return _checked_container(
                {"set": set, "frozenset": frozenset, "dict": dict}[name], self._keys
            )
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
