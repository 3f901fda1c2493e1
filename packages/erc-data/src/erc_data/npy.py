"""A checked reader for ``.npy`` feature files: regular files only, header checked against size.

The header's shape and dtype say how many bytes must follow; a file that holds another amount
(truncated, padded, or a symlink to a device such as /dev/zero) is refused before its data is read.
Object arrays are refused (reading them would unpickle).
"""

from __future__ import annotations

import io
import math
import os
import re
import stat

import numpy as np

from erc_data.errors import DataError

_MAGIC = b"\x93NUMPY"
_PREFIX = 12  # magic (6) + version (2) + header length (2 in version 1, 4 in versions 2 and 3)
_HEADER = re.compile(
    r"^\{'descr': '([<>|=]?[a-z]\d+)', 'fortran_order': (True|False), 'shape': \(([\d, ]*)\), \}"
)


def _parse_header(head: bytes, path: str) -> tuple[np.dtype, bool, tuple[int, ...], int]:
    """(dtype, fortran_order, shape, data offset) from the first bytes of ``path``."""
    if len(head) < 10 or head[:6] != _MAGIC:
        what = "empty (0 bytes)" if not head else f"{len(head)} bytes without a .npy header"
        if head and head[:6] == _MAGIC:
            what = f"{len(head)} bytes, too short for a .npy header"
        raise DataError(f"{path} is not a .npy file: {what}")
    version = head[6]
    if version not in (1, 2, 3):
        raise DataError(f"{path}: unsupported .npy format version {version}")
    if version == 1:
        size, start = int.from_bytes(head[8:10], "little"), 10
    else:
        size, start = int.from_bytes(head[8:12], "little"), 12
    text = head[start : start + size].decode("latin1")
    if len(text) < size:
        raise DataError(f"{path}: truncated .npy header ({len(text)} of {size} bytes)")
    match = _HEADER.match(text)
    if match is not None:
        descr, fortran, shape_text = match.groups()
        shape = tuple(int(s) for s in shape_text.split(",") if s.strip())
        return np.dtype(descr), fortran == "True", shape, start + size
    reader = io.BytesIO(head)
    try:
        major, _ = np.lib.format.read_magic(reader)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran_order, dtype = read_header(reader)
    except (ValueError, SyntaxError, TypeError) as err:
        raise DataError(f"{path}: malformed .npy header: {err}") from err
    return dtype, bool(fortran_order), tuple(shape), reader.tell()


def read_npy(path: str, *, root: str | None = None) -> np.ndarray:
    """The array stored in ``path``; never unpickles (object arrays are refused).

    ``path`` must be a regular file (after symlinks). With ``root`` given, a path that resolves
    outside ``root`` (a symlink leaving the folder) is refused.
    """
    if root is not None:
        real, base = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, base]) != base:
            raise DataError(
                f"{path} is a link to {real}, outside the feature folder {root}; pass "
                "allow_outside_links=True to follow such links"
            )
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open: opening a FIFO would block
            raise DataError(f"{path} is not a regular file (a device, pipe, socket or folder)")
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise DataError(f"{path} is not a regular file (a device, pipe, socket or folder)")
            head = f.read(_PREFIX)
            if len(head) == _PREFIX and head[:6] == _MAGIC:
                short = head[6] == 1
                start = 10 if short else 12
                size = int.from_bytes(head[8:start], "little")
                head += f.read(max(0, start + size - len(head)))
            dtype, fortran, shape, offset = _parse_header(head, path)
            if dtype.hasobject:
                raise DataError(f"{path}: holds an object array (dtype {dtype}); refused")
            if dtype.kind not in "biufc" or dtype.itemsize == 0:
                raise DataError(f"{path}: holds dtype {dtype}, not numbers; refused")
            expected = math.prod(shape) * dtype.itemsize
            if info.st_size - offset != expected:
                raise DataError(
                    f"{path}: header says shape {shape} of {dtype} ({expected} bytes), but the "
                    f"file holds {info.st_size - offset} bytes of data"
                )
            f.seek(offset)
            body = f.read(expected)
    except FileNotFoundError:
        raise DataError(f"feature file not found: {path}") from None
    except OSError as err:
        raise DataError(f"cannot read feature file {path}: {err}") from err
    if len(body) != expected:
        raise DataError(f"{path}: file shrank while reading ({len(body)} of {expected} bytes)")
    x = np.frombuffer(body, dtype=dtype, count=math.prod(shape))
    return x.reshape(shape, order="F" if fortran else "C")
