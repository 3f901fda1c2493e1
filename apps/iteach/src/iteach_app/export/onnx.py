"""The run's student as an ONNX graph for onnxruntime: any conversation length, any modalities.

Graph: inputs ``features.<modality>`` (1, L, D_m) float32 in the model's modality order,
``present`` (1, L, M) bool and ``utterance_mask`` (1, L) bool; output ``logits`` (1, L, C)
(C = 1 for regression). L is dynamic (at least ``MIN_LENGTH``: shorter conversations are padded
by the caller with ``utterance_mask`` False, which the model ignores). The run's description
(task, classes, modalities and dims, config hash, version) is stored in the file's metadata
under ``iteach_app``, so the file alone can be served.

Tracing sees the model with five changes that give the same numbers on every input:
- a ``reshape`` copies to contiguous memory first (the same values);
- every no-argument ``.all()`` / ``.any()`` (the model's "is there any padding / missing
  modality / bad value" shortcuts) answers False, so the graph holds the general masked paths,
  which are exact for complete inputs too (the value checks run before, in the service);
- attention runs in one query block (``query_chunk=None``);
- the max-pooling mixer takes the max of shifted copies (torch's max_pool1d fixes the length
  while traced);
- each ECCE bias is computed densely from prefix sums over (L, L) span ends, the same sums the
  band code takes, since the band layout needs the length as a Python number.
"""

from __future__ import annotations

import json
import types
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ecce import ECCE
from iteach_app.io import atomic_write_bytes
from iteach_app.model.iteach import ITEACHNet
from iteach_app.model.layers.mixers import MaxPoolMixer

MIN_LENGTH = 2
MAX_LENGTH = 1 << 16
METADATA_KEY = "iteach_app"
REDUCTIONS = (torch.Tensor.all, torch.Tensor.any, torch.all, torch.any)


class GeneralPaths(TorchFunctionMode):
    """While tracing: a whole-tensor ``.all()`` / ``.any()`` (no dim) is a constant False; a
    ``reshape`` copies its input to contiguous memory first (traced attention outputs have
    the fused kernels' strides, which the exporter's decomposed attention does not keep)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in REDUCTIONS and len(args) == 1 and not kwargs:
            return torch.tensor(False)
        if func is torch.Tensor.reshape:
            return func(args[0].clone(memory_format=torch.contiguous_format), *args[1:], **kwargs)
        return func(*args, **kwargs)


def dense_span_bias(ecce: ECCE, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ECCE's bias (B, H, L, L) from span prefix sums over all (i, j) at once; the same
    arithmetic as ``ECCE._bias`` (sums in float64, mean in x's dtype), without its band."""
    if ecce.pooling != "mean":
        raise ValueError(f"ONNX export supports ECCE pooling 'mean' only, not {ecce.pooling!r}")
    p = nn.functional.linear(ecce.local_features(x, mask), ecce.proj.weight)  # (B, L, H)
    real = mask.to(torch.float64)
    sums = nn.functional.pad((p.double() * real[..., None]).cumsum(1), (0, 0, 1, 0))
    counts = nn.functional.pad(real.cumsum(1), (1, 0))  # (B, L+1)
    index = torch.arange(x.shape[1], device=x.device)
    lo = torch.minimum(index[:, None], index[None, :])
    hi = torch.maximum(index[:, None], index[None, :])
    total = (sums[:, hi + 1] - sums[:, lo]).to(p.dtype)  # (B, L, L, H)
    count = counts[:, hi + 1] - counts[:, lo]
    near = (index[:, None] - index[None, :]).abs() < ecce.max_distance
    if ecce.causal:
        near = near & (index[None, :] <= index[:, None])
    valid = near & mask[:, :, None] & mask[:, None, :]
    weight = torch.where(valid, count.clamp(min=1).reciprocal(), 0.0).to(p.dtype)
    band = (total * weight[..., None]).permute(0, 3, 1, 2)
    bias = ecce.proj.bias if ecce.proj.bias is not None else band.new_zeros(ecce.num_heads)
    return band + bias[None, :, None, None]


def shifted_max_pool(
    mixer: MaxPoolMixer, x: torch.Tensor, padded: torch.Tensor | None
) -> torch.Tensor:
    """``MaxPoolMixer.pool`` as the max of the window's shifted copies (same numbers)."""
    filled = x if padded is None else x.masked_fill(padded, float("-inf"))
    half, length = mixer.kernel_size // 2, x.shape[1]
    wide = nn.functional.pad(filled, (0, 0, half, half), value=float("-inf"))
    return torch.stack([wide[:, k : k + length] for k in range(mixer.kernel_size)]).amax(0)


class StudentGraph(nn.Module):
    """The student with the graph's inputs: (features {m: (1,L,D_m)}, present, utterance_mask)."""

    def __init__(self, student: nn.Module) -> None:
        super().__init__()
        self.student = student

    def forward(
        self, features: dict[str, torch.Tensor], present: torch.Tensor, utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        return self.student(features=features, utterance_mask=utterance_mask, present=present)


@contextmanager
def traceable(student: nn.Module) -> Iterator[None]:
    """The five tracing changes of the module docstring, undone on exit."""
    chunk = getattr(student, "query_chunk", None)
    patched = [(m, "_bias", dense_span_bias) for m in student.modules() if isinstance(m, ECCE)]
    patched += [
        (m, "pool", shifted_max_pool) for m in student.modules() if isinstance(m, MaxPoolMixer)
    ]
    if isinstance(student, ITEACHNet):
        student.set_query_chunk(None)
    for module, name, fn in patched:
        setattr(module, name, types.MethodType(fn, module))
    try:
        with GeneralPaths():
            yield
    finally:
        for module, name, _ in patched:
            delattr(module, name)
        if isinstance(student, ITEACHNet):
            student.set_query_chunk(chunk)


def export_student(
    student: nn.Module, modality_dims: Mapping[str, int], out: Path, metadata: dict[str, Any]
) -> Path:
    """Write ``student`` (eval mode) as ONNX to ``out`` (atomically), ``metadata`` attached."""
    import onnx

    modalities = list(getattr(student, "modalities", modality_dims))
    reach = max((m.max_distance for m in student.modules() if isinstance(m, ECCE)), default=8)
    length = max(MIN_LENGTH, 2 * reach + 1)  # an example longer than any span limit
    features = {m: torch.randn(1, length, modality_dims[m]) for m in modalities}
    present = torch.ones(1, length, len(modalities), dtype=torch.bool)
    mask = torch.ones(1, length, dtype=torch.bool)
    dim = torch.export.Dim("length", min=MIN_LENGTH, max=MAX_LENGTH)
    shapes = ({m: {1: dim} for m in modalities}, {1: dim}, {1: dim})
    graph = StudentGraph(student.eval())
    with torch.no_grad(), traceable(student), warnings.catch_warnings():
        # the router keeps its last weights as a plain attribute, for inspection only
        warnings.filterwarnings("ignore", message="The tensor attributes .* during export")
        program = torch.export.export(
            graph, (features, present, mask), dynamic_shapes=shapes, strict=False
        )
    onnx_program = torch.onnx.export(
        program,
        (features, present, mask),
        input_names=[f"features.{m}" for m in modalities] + ["present", "utterance_mask"],
        output_names=["logits"],
        dynamo=True,
        verbose=False,
    )
    model = onnx_program.model_proto
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    atomic_write_bytes(out, model.SerializeToString())
    onnx.checker.check_model(str(out))
    return out
