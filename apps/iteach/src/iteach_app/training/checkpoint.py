"""Checkpoints as safetensors only: tensors flat, everything else as JSON in the metadata.

Nothing here (or anywhere in iteach_app) unpickles: a checkpoint is read with safetensors, whose
format holds raw tensor bytes and a JSON header. The header is checked first (checkpoint_header.py:
location, size, the model's names and shapes), then our format tag, version, kind and config hash,
before anything is restored. Writes are atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from iteach_app.io import atomic_write_bytes
from iteach_app.training.checkpoint_header import (
    HeaderError,
    check_expected,
    check_location,
    read_header,
    tensor_entries,
)

FORMAT_TAG = "iteach-app/checkpoint"
FORMAT_VERSION = 1
KINDS = ("train-state", "model")
_MODEL_PREFIX = "model."
_OPTIM_PREFIX = "optimizer."


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, not ours or does not fit the model; names the file."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds once validated."""

    path: Path
    kind: str
    config_hash: str
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model_state: Mapping[str, torch.Tensor],
    *,
    kind: str,
    config_hash: str,
    optimizer_state: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> None:
    """Write model (+ optimizer) state and JSON ``state`` to ``path`` atomically as safetensors."""
    if kind not in KINDS:
        raise ValueError(f"checkpoint kind must be one of {KINDS}; got {kind!r}")
    tensors: dict[str, torch.Tensor] = {
        _MODEL_PREFIX + name: _plain(value) for name, value in model_state.items()
    }
    metadata = {
        "format": FORMAT_TAG,
        "version": str(FORMAT_VERSION),
        "kind": kind,
        "config_hash": config_hash,
        "state": json.dumps(dict(state or {})),
    }
    if optimizer_state is not None:
        optim_tensors, optim_meta = _flatten_optimizer(optimizer_state)
        tensors.update(optim_tensors)
        metadata["optimizer"] = json.dumps(optim_meta)
    atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def load_checkpoint(
    path: str | Path,
    *,
    kind: str | None = None,
    config_hash: str | None = None,
    expected: Mapping[str, torch.Tensor] | None = None,
    root: str | Path | None = None,
) -> Checkpoint:
    """Read and validate a checkpoint; CheckpointError (naming the file and the fault) otherwise.

    Before any tensor data is read: the file must be a regular file (inside ``root`` when given,
    so a link out of the run folder is refused), its header's tensor ranges must account for the
    file's size exactly, and with ``expected`` (the model's state dict) its model tensors must
    have the model's names, shapes and dtypes.
    """
    path = Path(path)
    try:
        check_location(path, Path(root) if root is not None else None)
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw, header = read_header(handle, size)
            metadata = _metadata(header)
            entries = tensor_entries(header, size - 8 - len(raw))
            if expected is not None:
                check_expected(entries, expected, _MODEL_PREFIX, _OPTIM_PREFIX)
            handle.seek(0)
            data = handle.read()
    except HeaderError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        tensors = st_load(data)
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: corrupt safetensors data ({err})") from None
    if metadata.get("format") != FORMAT_TAG:
        raise CheckpointError(
            f"{path}: not an iteach-app checkpoint (format tag {metadata.get('format')!r}, "
            f"expected {FORMAT_TAG!r})"
        )
    if metadata.get("version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint format version {metadata.get('version')!r} is not supported "
            f"(this iteach-app reads version {FORMAT_VERSION})"
        )
    found_kind = metadata.get("kind")
    if found_kind not in KINDS or (kind is not None and found_kind != kind):
        raise CheckpointError(f"{path}: checkpoint kind {found_kind!r}, expected {kind or KINDS!r}")
    if config_hash is not None and metadata.get("config_hash") != config_hash:
        raise CheckpointError(
            f"{path}: written for config hash {metadata.get('config_hash')!r}, but this run's "
            f"config hash is {config_hash!r} (the run's config.toml was changed?)"
        )
    state = _json(path, metadata, "state")
    model_state = {
        k[len(_MODEL_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_MODEL_PREFIX)
    }
    stray = [k for k in tensors if not k.startswith((_MODEL_PREFIX, _OPTIM_PREFIX))]
    if stray:
        raise CheckpointError(f"{path}: unexpected tensors {stray[:5]} (not an iteach-app layout)")
    if not model_state:
        raise CheckpointError(f"{path}: holds no model tensors")
    optimizer_state = None
    if "optimizer" in metadata:
        optimizer_state = _unflatten_optimizer(path, tensors, _json(path, metadata, "optimizer"))
    elif found_kind == "train-state":
        raise CheckpointError(f"{path}: a train-state checkpoint without optimizer state")
    return Checkpoint(
        path=path,
        kind=found_kind,
        config_hash=str(metadata.get("config_hash")),
        model_state=model_state,
        optimizer_state=optimizer_state,
        state=state,
    )


def restore_model(module: nn.Module, checkpoint: Checkpoint) -> None:
    """Load ``checkpoint.model_state`` into ``module`` after checking keys and shapes exactly."""
    expected = module.state_dict()
    found = checkpoint.model_state
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{checkpoint.path}: does not fit this model: missing {missing[:5]} "
            f"({len(missing)} in all), unexpected {unexpected[:5]} ({len(unexpected)} in all)"
        )
    for name, tensor in expected.items():
        if found[name].shape != tensor.shape or found[name].dtype != tensor.dtype:
            raise CheckpointError(
                f"{checkpoint.path}: tensor {name!r} is {tuple(found[name].shape)} "
                f"{found[name].dtype}, the model expects {tuple(tensor.shape)} {tensor.dtype}"
            )
    module.load_state_dict(found, strict=True)


def restore_optimizer(optimizer: torch.optim.Optimizer, checkpoint: Checkpoint) -> None:
    """Load the optimizer state, refusing one whose groups or parameter counts differ."""
    saved = checkpoint.optimizer_state
    if saved is None:
        raise CheckpointError(f"{checkpoint.path}: holds no optimizer state")
    groups = optimizer.state_dict()["param_groups"]
    saved_groups = saved["param_groups"]
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in saved_groups]:
        raise CheckpointError(
            f"{checkpoint.path}: optimizer parameter groups differ from this model's "
            f"({[len(g['params']) for g in saved_groups]} vs {[len(g['params']) for g in groups]})"
        )
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{checkpoint.path}: optimizer state does not fit ({err})") from None


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous CPU copy that shares storage with nothing (safetensors refuses shared)."""
    return tensor.detach().to("cpu").contiguous().clone()


def _flatten_optimizer(
    optimizer_state: Mapping[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for param_id, entries in optimizer_state["state"].items():
        plain: dict[str, Any] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_OPTIM_PREFIX}{param_id}.{key}"] = _plain(value)
            else:
                plain[key] = value
        plain_state[str(param_id)] = plain
    groups = [dict(group) for group in optimizer_state["param_groups"]]
    return tensors, {"param_groups": groups, "state": plain_state}


def _unflatten_optimizer(
    path: Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]
) -> dict[str, Any]:
    try:
        groups = [dict(group) for group in meta["param_groups"]]
        state: dict[int, dict[str, Any]] = {
            int(pid): dict(values) for pid, values in meta["state"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path}: malformed optimizer metadata ({err})") from None
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    for key, value in tensors.items():
        if not key.startswith(_OPTIM_PREFIX):
            continue
        pid, _, name = key[len(_OPTIM_PREFIX) :].partition(".")
        if not pid.isdigit() or not name:
            raise CheckpointError(f"{path}: malformed optimizer tensor name {key!r}")
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": groups}


def _metadata(header: Mapping[str, Any]) -> dict[str, str]:
    """The ``__metadata__`` object of a parsed safetensors header ({} when absent)."""
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise HeaderError("safetensors metadata is not a JSON object")
    return metadata


def _json(path: Path, metadata: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        value = json.loads(metadata.get(key, "{}"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: metadata {key!r} is not valid JSON ({err})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: metadata {key!r} is nested too deeply to read") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: metadata {key!r} is not a JSON object")
    return value
