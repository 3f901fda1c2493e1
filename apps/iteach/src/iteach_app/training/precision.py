"""Numeric precision of training and evaluation: float32, or bfloat16 autocast on CPU or GPU
(matrix products in bf16, reductions and the loss in float32; weights stay float32)."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("32", "bf16")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` on ``device`` ("32": none)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
