"""Checks of the training state a resume reads from last.safetensors: an out-of-range or
non-finite field (epoch=-3, step NaN) is refused naming the file and the field, never retrained."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from iteach_app.training.checkpoint import CheckpointError


def check_resume_state(path: Path, state: dict[str, Any], epochs: int) -> None:
    """Raise CheckpointError unless ``state`` (TrainState fields) is one a run of ``epochs``
    epochs can have written: counters whole and in range, sums and best metric finite."""

    def fault(field: str, why: str) -> CheckpointError:
        return CheckpointError(f"{path}: training state {field}={state.get(field)!r} {why}")

    for name, top in (("epoch", epochs), ("step", None), ("global_step", None)):
        value = state.get(name, 0)
        if not _whole(value):
            raise fault(name, "is not a whole number")
        if value < 0 or (top is not None and value > top):
            raise fault(name, f"is out of range (0..{top if top is not None else 'any'})")
    if state.get("step", 0) > state.get("global_step", 0):
        raise fault("step", f"exceeds global_step={state.get('global_step')!r}")
    sums = state.get("sums", {})
    if not isinstance(sums, dict) or not all(_finite(v) for v in sums.values()):
        raise fault("sums", "is not a mapping of finite numbers")
    best = state.get("best_metric")
    if best is not None and not _finite(best):
        raise fault("best_metric", "is not a finite number")
    best_epoch = state.get("best_epoch")
    if best_epoch is not None and (not _whole(best_epoch) or not 1 <= best_epoch <= epochs):
        raise fault("best_epoch", f"is not an epoch in 1..{epochs}")
    history = state.get("history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise fault("history", "is not a list of epoch records")
    if len(history) > state.get("epoch", 0) + 1:
        raise CheckpointError(
            f"{path}: training state holds {len(history)} epoch records for epoch "
            f"{state.get('epoch')!r}"
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
