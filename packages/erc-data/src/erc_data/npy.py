"""A fast reader for small ``.npy`` files; anything unusual falls back to ``numpy.load``."""

from __future__ import annotations

import re

import numpy as np

_MAGIC = b"\x93NUMPY"
_HEADER = re.compile(
    r"^\{'descr': '([<>|=]?[a-z]\d+)', 'fortran_order': (True|False), 'shape': \(([\d, ]*)\), \}"
)


def read_npy(path: str) -> np.ndarray:
    """The array stored in ``path`` (never unpickles: object arrays are refused)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] == _MAGIC and data[6] in (1, 2, 3):
        if data[6] == 1:
            size, start = int.from_bytes(data[8:10], "little"), 10
        else:
            size, start = int.from_bytes(data[8:12], "little"), 12
        match = _HEADER.match(data[start : start + size].decode("latin1"))
        if match is not None:
            descr, fortran, shape_text = match.groups()
            shape = tuple(int(s) for s in shape_text.split(",") if s.strip())
            dtype = np.dtype(descr)
            count = int(np.prod(shape, dtype=np.int64))
            body = data[start + size :]
            if len(body) == count * dtype.itemsize:
                x = np.frombuffer(body, dtype=dtype, count=count)
                return x.reshape(shape, order="F" if fortran == "True" else "C")
    return np.load(path, allow_pickle=False)
