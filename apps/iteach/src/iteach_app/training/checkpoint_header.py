"""A checkpoint file checked before its tensors are read: where it is, its header, its size.

A safetensors file is an 8-byte header length, a JSON header (each tensor's dtype, shape and byte
range; our metadata) and the raw tensor bytes. Everything here reads at most the header: the file
must be a regular file inside its run folder (a link to /etc/shadow is refused unopened), the
tensor ranges must tile the data exactly and end at the file's end (an 8 GB sparse file behind a
small header is refused), and, given the model's state dict, every model tensor must have the
name, shape and dtype the model expects, before a byte of tensor data is read. Errors never quote
the file's bytes.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import torch

MAX_HEADER = 100 * 1024 * 1024
# safetensors dtype name -> bytes per element (the ones torch can hold)
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
    "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8, "C64": 8,
}  # fmt: skip
TORCH_DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}  # fmt: skip
# AdamW keeps two moments per parameter and a step count; more is not an optimizer state of ours
OPTIMIZER_BYTES_PER_MODEL_BYTE = 3


class HeaderError(ValueError):
    """The file is not a checkpoint of the expected size and layout (message without the path)."""


def check_location(path: Path, root: Path | None) -> None:
    """``path`` resolves to a regular file, inside ``root`` when given (links out are refused)."""
    if root is not None:
        real, base = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, base]) != base:
            raise HeaderError(f"is a link to a file outside the run folder {root}; refused")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise HeaderError("checkpoint not found") from None
    if not stat.S_ISREG(mode):
        raise HeaderError("not a regular file (a device, pipe, socket or folder)")


def read_header(handle: IO[bytes], size: int) -> tuple[bytes, dict[str, Any]]:
    """(raw header bytes, parsed header) of an open safetensors file of ``size`` bytes."""
    if size < 8:
        raise HeaderError(f"too short to be a safetensors file ({size} bytes)")
    (header_len,) = struct.unpack("<Q", handle.read(8))
    if header_len > min(MAX_HEADER, size - 8):
        raise HeaderError(
            f"not a safetensors file (its header length does not fit a {size}-byte file: "
            "truncated, or another format)"
        )
    raw = handle.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HeaderError("not a safetensors file (header is not UTF-8 JSON)") from None
    except RecursionError:
        raise HeaderError("safetensors header nested too deeply to read") from None
    if not isinstance(header, dict):
        raise HeaderError("not a safetensors file (header is not a JSON object)")
    return raw, header


def tensor_entries(header: Mapping[str, Any], data_bytes: int) -> dict[str, tuple[str, tuple]]:
    """name -> (dtype, shape) of the header's tensors, after checking that their byte ranges
    match their shapes and tile the ``data_bytes`` after the header exactly."""
    entries: dict[str, tuple[str, tuple]] = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
            ok = dtype in DTYPE_BYTES and all(isinstance(d, int) and d >= 0 for d in shape)
            ok = ok and all(isinstance(o, int) for o in (begin, end))
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise HeaderError(f"malformed header entry for tensor {str(name)[:80]!r}")
        if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise HeaderError(f"tensor {name!r}: byte range does not match shape {shape} {dtype}")
        entries[name] = (dtype, shape)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise HeaderError("tensor byte ranges overlap or leave gaps")
        position = end
    if position != data_bytes:
        raise HeaderError(
            f"header describes {position} bytes of tensors, the file holds {data_bytes} "
            "(truncated, padded or not a checkpoint)"
        )
    return entries


def check_expected(
    entries: Mapping[str, tuple[str, tuple]],
    expected: Mapping[str, torch.Tensor],
    model_prefix: str,
    optim_prefix: str,
) -> None:
    """Every model tensor named, shaped and typed as ``expected`` (the model's state dict), and
    the optimizer's tensors no larger than an AdamW state of that model."""
    found = {k[len(model_prefix) :]: v for k, v in entries.items() if k.startswith(model_prefix)}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise HeaderError(
            f"does not fit this model: missing {missing[:5]} ({len(missing)} in all), "
            f"unexpected {unexpected[:5]} ({len(unexpected)} in all)"
        )
    model_bytes = 0
    for name, tensor in expected.items():
        want = (TORCH_DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype)), tuple(tensor.shape))
        if found[name] != want:
            raise HeaderError(
                f"tensor {name!r} is {found[name][1]} {found[name][0]}, the model expects "
                f"{want[1]} {want[0]}"
            )
        model_bytes += tensor.numel() * tensor.element_size()
    optim = sum(
        math.prod(shape) * DTYPE_BYTES[dtype]
        for key, (dtype, shape) in entries.items()
        if key.startswith(optim_prefix)
    )
    if optim > OPTIMIZER_BYTES_PER_MODEL_BYTE * model_bytes + (1 << 20):
        raise HeaderError(
            f"optimizer tensors of {optim} bytes, more than an optimizer state of this "
            f"{model_bytes}-byte model"
        )
