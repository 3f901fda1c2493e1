"""AdamW (Loshchilov & Hutter, decoupled weight decay) whose use never imports ``torch._dynamo``.

``torch.optim.AdamW`` imports ``torch._dynamo`` the first time a parameter group is added and on
every ``step`` (its methods are wrapped to stay out of ``torch.compile`` graphs): 1.1-1.3 s of
every ``train`` run's start-up on a 2-core CPU, more than a third of the fixed cost. `AdamW` is a
``torch.optim.AdamW`` (same constructor, same ``param_groups`` and ``state_dict`` layout, so
schedulers accept it and checkpoints written by either load into the other) whose bookkeeping
methods run torch's own code without that wrapper, and whose ``step`` is the same update:

    step += 1;  p *= 1 - lr * wd;  m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) g^2
    p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)

run on the CPU by torch's fused AdamW kernel (``torch._fused_adamw_``, one call per dtype: the
optimiser's share of a paper-recipe ITS step 45 -> 17 ms, against per-tensor ``torch._foreach_*``
ops), on other devices by ``torch._foreach_*`` ops (torch's own default there).

The options torch offers beyond that (amsgrad, maximize, capturable, differentiable, fused, tensor
learning rates) are refused with a clear error rather than silently ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim import Optimizer

UNSUPPORTED = ("amsgrad", "maximize", "capturable", "differentiable", "fused")
FUSED_DEVICES = ("cpu",)  # step counts live on the CPU; the fused CUDA kernel wants them on the GPU
FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _plain(method: Callable[..., Any]) -> Callable[..., Any]:
    """torch's method without its lazy ``torch._dynamo.disable`` wrapper (``__wrapped__``, set by
    functools.wraps); the method itself where a torch version does not wrap it."""
    return getattr(method, "__wrapped__", method)


class AdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` (float hyper-parameters, fused update) without torch._dynamo.

    Same arguments, ``param_groups``, ``state`` (``step`` a float32 scalar tensor, ``exp_avg``,
    ``exp_avg_sq``) and ``state_dict`` as torch's; updates equal torch's to float rounding
    (tests/iteach/training/test_adamw.py).
    """

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's ``Optimizer.add_param_group``, refusing the options `step` does not run."""
        _plain(Optimizer.add_param_group)(self, param_group)
        group = self.param_groups[-1]
        for option in UNSUPPORTED:
            if group.get(option):
                raise ValueError(f"iteach_app AdamW does not support {option}=True")
        if isinstance(group["lr"], torch.Tensor) or any(
            isinstance(beta, torch.Tensor) for beta in group["betas"]
        ):
            raise ValueError("iteach_app AdamW takes lr and betas as floats, not tensors")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """torch's ``Optimizer.zero_grad``."""
        _plain(Optimizer.zero_grad)(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        """torch's ``Optimizer.state_dict``: the layout ``torch.optim.AdamW`` writes."""
        return _plain(Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``Optimizer.load_state_dict`` (a ``torch.optim.AdamW`` state loads as is)."""
        _plain(Optimizer.load_state_dict)(self, state_dict)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One AdamW update of every parameter that has a gradient; ``closure`` re-evaluates
        the loss first (with autograd on), as torch's optimisers allow."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        tensors: dict[tuple[torch.device, torch.dtype], _Tensors] = {}
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise RuntimeError("AdamW does not support sparse gradients")
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=_step_dtype())
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            tensors.setdefault((param.device, param.dtype), _Tensors()).add(param, state)
        for (device, dtype), found in tensors.items():
            torch._foreach_add_(found.steps, 1.0)
            if device.type in FUSED_DEVICES and dtype in FUSED_DTYPES:
                _fused_update(group, found)
            else:
                _foreach_update(group, found)


@dataclass
class _Tensors:
    """One device's and dtype's parameters with their gradients and AdamW state, as lists."""

    params: list[torch.Tensor] = field(default_factory=list)
    grads: list[torch.Tensor] = field(default_factory=list)
    means: list[torch.Tensor] = field(default_factory=list)
    squares: list[torch.Tensor] = field(default_factory=list)
    steps: list[torch.Tensor] = field(default_factory=list)

    def add(self, param: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        """Append one parameter, its gradient and its state."""
        self.params.append(param)
        self.grads.append(param.grad)
        self.means.append(state["exp_avg"])
        self.squares.append(state["exp_avg_sq"])
        self.steps.append(state["step"])


def _fused_update(group: dict[str, Any], found: _Tensors) -> None:
    """The update of ``found`` by torch's fused kernel (steps already counted)."""
    beta1, beta2 = group["betas"]
    torch._fused_adamw_(
        found.params,
        found.grads,
        found.means,
        found.squares,
        [],
        found.steps,
        lr=group["lr"],
        beta1=beta1,
        beta2=beta2,
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        amsgrad=False,
        maximize=False,
    )


def _foreach_update(group: dict[str, Any], found: _Tensors) -> None:
    """The same update by ``torch._foreach_*`` ops, for devices without the fused kernel."""
    beta1, beta2 = group["betas"]
    lr, decay, eps = group["lr"], group["weight_decay"], group["eps"]
    params, grads, means, squares = found.params, found.grads, found.means, found.squares
    if decay != 0:
        torch._foreach_mul_(params, 1.0 - lr * decay)
    torch._foreach_lerp_(means, grads, 1.0 - beta1)
    torch._foreach_mul_(squares, beta2)
    torch._foreach_addcmul_(squares, grads, grads, 1.0 - beta2)
    counts = [float(step) for step in found.steps]
    step_sizes = [-lr / (1.0 - beta1**count) for count in counts]
    corrections = [math.sqrt(1.0 - beta2**count) for count in counts]
    denominators = torch._foreach_sqrt(squares)
    torch._foreach_div_(denominators, corrections)
    torch._foreach_add_(denominators, eps)
    torch._foreach_addcdiv_(params, means, denominators, step_sizes)


def _step_dtype() -> torch.dtype:
    """The dtype torch's Adam keeps ``step`` in: float64 under a float64 default, else float32."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
