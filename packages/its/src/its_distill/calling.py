"""How a wrapped model is called, and how its output is read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


def call_model(model: nn.Module, inputs: Any) -> Any:
    """`model(**inputs)` for a Mapping, `model(*inputs)` for a tuple, else `model(inputs)`."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


def logits_of(output: Any, name: str) -> torch.Tensor:
    """The logits of a model's output: the output itself, or the first element of a tuple / list."""
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"the {name} returned {type(output).__name__}; expected a logits tensor")
    return output


def split_returned_states(
    output: Any, name: str, num_layers: int
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """`(logits, hidden_states)` of a model that returns its states, nearest-the-output first."""
    if not (isinstance(output, (tuple, list)) and len(output) == 2):
        raise TypeError(
            f"the {name} has no layer paths, so it must return (logits, hidden_states); it "
            f"returned {type(output).__name__}. Pass {name}_layers=[module paths] to capture "
            f"them with hooks"
        )
    logits, states = output
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"the {name} returned logits of type {type(logits).__name__}, not a tensor")
    if isinstance(states, torch.Tensor) or not isinstance(states, Sequence):
        raise TypeError(
            f"the {name} returned hidden_states of type {type(states).__name__}; expected a "
            f"sequence of tensors ordered nearest-the-output first"
        )
    if len(states) < num_layers:
        raise ValueError(
            f"the {name} returned {len(states)} hidden states but {num_layers} layer weights were "
            f"given; return at least {num_layers} (nearest-the-output first)"
        )
    return logits, tuple(states[:num_layers])
