"""A checked reader for ``.npz`` feature archives: each member's size is known before it is read.

An .npz is a zip of .npy members. A member's .npy header says how many bytes its array holds;
that size is capped (`MAX_MEMBER_BYTES`) before anything is allocated, and the member is inflated
as a stream that stops at the declared size. Only the methods numpy writes are read: stored
(`numpy.savez`) and deflate (`savez_compressed`), whose inflation zipfile bounds per read. bzip2
and LZMA members are refused by name: zipfile inflates each of their chunks whole, so a kilobyte
of bzip2 could become gigabytes in one call. Object arrays are refused.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import numpy as np

from erc_data.errors import DataError
from erc_data.npy import _MAGIC, _PREFIX, _parse_header

MAX_MEMBER_BYTES = 256 << 20  # one utterance's features: (T, D) float32 with T * D <= 64 M
_CHUNK = 1 << 22
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


@contextmanager
def open_npz(path: str | os.PathLike[str]) -> Iterator[zipfile.ZipFile]:
    """The archive at ``path`` (a regular file: a FIFO or device is refused before opening)."""
    where = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(where).st_mode):
            raise DataError(f"{where} is not a regular file (a device, pipe, socket or folder)")
        archive = zipfile.ZipFile(where)
    except FileNotFoundError:
        raise DataError(f"feature archive not found: {where}") from None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as err:
        raise DataError(f"{where} is not a readable .npz: {type(err).__name__}: {err}") from err
    with archive:
        yield archive


def npz_keys(archive: zipfile.ZipFile) -> list[str]:
    """Member names without their ``.npy`` suffix (the keys ``numpy.load`` would give)."""
    return [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]


def read_member(
    archive: zipfile.ZipFile, key: str, where: str, max_bytes: int = MAX_MEMBER_BYTES
) -> np.ndarray:
    """The array of member ``key`` of ``archive``; errors name ``where`` (e.g. ``file['u1']``).

    The .npy header is parsed first: a non-numeric dtype, or data larger than ``max_bytes``, is
    refused before the data is inflated; then exactly the declared bytes are read, and a member
    holding more or fewer is refused.
    """
    try:
        info = archive.getinfo(f"{key}.npy")
    except KeyError:
        raise DataError(f"{where}: no such member") from None
    if info.compress_type not in _METHODS:
        method = _METHOD_NAMES.get(info.compress_type, info.compress_type)
        raise DataError(
            f"{where}: compression method {method} is not read (only stored and deflate, as "
            "numpy.savez / savez_compressed write); rewrite the archive with numpy"
        )
    try:
        with archive.open(info) as member:
            dtype, fortran, shape, offset = _parse_header(_read_head(member), where)
            if dtype.hasobject:
                raise DataError(
                    f"{where}: unreadable array (an object array, dtype {dtype}; refused)"
                )
            if dtype.kind not in "biufc" or dtype.itemsize == 0:
                raise DataError(f"{where}: holds dtype {dtype}, not numbers; refused")
            expected = math.prod(shape) * dtype.itemsize
            if expected > max_bytes:
                raise DataError(
                    f"{where}: header says shape {shape} of {dtype} ({expected} bytes), more "
                    f"than the {max_bytes} allowed for one member; refused before reading"
                )
            if info.file_size != offset + expected:
                raise DataError(
                    f"{where}: header says {expected} bytes of data, but the archive lists "
                    f"{info.file_size - offset}"
                )
            body = _read_exactly(member, expected, where)
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, NotImplementedError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{where}: unreadable array ({type(err).__name__}: {err})") from err
    array = np.frombuffer(body, dtype=dtype, count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran else "C")


def _read_head(member: IO[bytes]) -> bytes:
    """Magic, version, header length and header of an .npy stream (nothing of its data)."""
    head = member.read(_PREFIX)
    if len(head) == _PREFIX and head[:6] == _MAGIC:
        start = 10 if head[6] == 1 else 12
        size = int.from_bytes(head[8:start], "little")
        head += member.read(max(0, start + size - len(head)))
    return head


def _read_exactly(member: IO[bytes], size: int, where: str) -> bytes:
    """``size`` bytes from the stream, in chunks, then a check that nothing follows them."""
    parts, left = [], size
    while left:
        chunk = member.read(min(left, _CHUNK))
        if not chunk:
            raise DataError(f"{where}: truncated ({size - left} of {size} bytes of data)")
        parts.append(chunk)
        left -= len(chunk)
    if member.read(1):
        raise DataError(f"{where}: holds more data than its header's {size} bytes; refused")
    return b"".join(parts)
