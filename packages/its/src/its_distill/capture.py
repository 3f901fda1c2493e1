"""Capture hidden states with forward hooks on submodules addressed by path: no forward changes."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

import torch
from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel
from torch.utils.hooks import RemovableHandle


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper, else the model itself."""
    while isinstance(model, (DistributedDataParallel, DataParallel)):
        model = model.module
    return model


def resolve_module(model: nn.Module, path: str) -> nn.Module:
    """The submodule at `path` (as in `named_modules()`), resolved on the unwrapped model."""
    modules = dict(unwrap_model(model).named_modules())
    if path in modules:
        return modules[path]
    close = difflib.get_close_matches(path, [name for name in modules if name], n=3)
    hint = f"; did you mean {', '.join(repr(name) for name in close)}?" if close else ""
    raise ValueError(
        f"layer path {path!r} does not exist in {type(unwrap_model(model)).__name__}{hint} "
        f"(paths are the names of model.named_modules())"
    )


class _StoreOutput:
    """Forward hook that keeps the module's output (first element of a tuple) under its path."""

    def __init__(self, capture: HiddenStateCapture, path: str) -> None:
        self.capture = capture
        self.path = path

    def __call__(self, module: nn.Module, args: object, output: object) -> None:
        if not self.capture.enabled:
            return
        if isinstance(output, (tuple, list)):
            output = output[0] if output else None
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"layer {self.path!r} ({type(module).__name__}) returned {type(output).__name__}, "
                f"not a tensor; hook a module that outputs the hidden state"
            )
        self.capture.outputs[self.path] = output


class HiddenStateCapture:
    """Forward hooks on `paths` of `model`; `states()` gives their outputs from the latest forward.

    The hooks stay registered until `remove()` (or the end of a `with` block). Call `clear()` before
    each forward (or run it inside `recording()`) so that `states()` only returns tensors of the
    current call. A module run several times in one forward keeps the output of its last run.
    While `enabled` is False the hooks store nothing.
    """

    def __init__(self, model: nn.Module, paths: Sequence[str], *, enabled: bool = True) -> None:
        if isinstance(paths, str):
            raise TypeError(f"paths must be a sequence of module paths, not the string {paths!r}")
        self.paths: tuple[str, ...] = tuple(paths)
        self.modules: tuple[nn.Module, ...] = tuple(resolve_module(model, p) for p in self.paths)
        self.enabled = enabled
        self.outputs: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = [
            module.register_forward_hook(_StoreOutput(self, path))
            for path, module in zip(self.paths, self.modules, strict=True)
        ]

    def clear(self) -> None:
        """Forget the captured outputs (call before each forward)."""
        self.outputs.clear()

    @contextmanager
    def recording(self) -> Iterator[HiddenStateCapture]:
        """Clear, then store outputs only for the duration of the block."""
        self.clear()
        previous, self.enabled = self.enabled, True
        try:
            yield self
        finally:
            self.enabled = previous

    def states(self) -> tuple[torch.Tensor, ...]:
        """Captured outputs in the order of `paths`; error naming any layer that did not run."""
        missing = [p for p in self.paths if p not in self.outputs]
        if missing and not self._handles:
            raise RuntimeError(
                f"the hooks on {', '.join(repr(p) for p in missing)} were removed, so nothing "
                f"was captured"
            )
        if missing:
            raise RuntimeError(
                f"layer(s) {', '.join(repr(p) for p in missing)} produced no output during the "
                f"forward pass: they are not on the path from the inputs to the output"
            )
        return tuple(self.outputs[p] for p in self.paths)

    def remove(self) -> None:
        """Unregister the hooks (the outputs already captured stay readable)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> HiddenStateCapture:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()


def capture_hidden_states(model: nn.Module, paths: Sequence[str]) -> HiddenStateCapture:
    """Hook `paths` of `model`: `with capture_hidden_states(m, paths) as c: m(x)`; `c.states()`."""
    return HiddenStateCapture(model, paths)
