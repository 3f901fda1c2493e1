"""How a wrapped model is called, and how its output is read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


OutputKey = str | int | Callable[[Any], torch.Tensor] | None


def _describe(output: Any) -> str:
    if isinstance(output, Mapping):
        return f"{type(output).__name__} with keys {list(output.keys())}"
    return type(output).__name__


def logits_of(output: Any, name: str, output_key: OutputKey = None) -> torch.Tensor:
    """The logits of a model's output, read by `output_key`.

    None: the output itself if a tensor, the first element of a tuple / list, or the "logits" entry
    of a dict or Hugging Face `ModelOutput`. A str: that key of a Mapping (a `ModelOutput` is one)
    or that attribute. An int: that index of a tuple / list. A callable: `output_key(output)`.
    """
    if callable(output_key):
        logits = output_key(output)
    elif output_key is None:
        logits = output
        if isinstance(output, (tuple, list)) and output:
            logits = output[0]
        elif isinstance(output, Mapping) and "logits" in output:
            logits = output["logits"]
        elif isinstance(output, Mapping):
            raise TypeError(
                f"the {name} returned a {_describe(output)} and none is 'logits'; pass "
                f"output_key= the key of its logits (or a callable that picks them)"
            )
    elif isinstance(output_key, str):
        if isinstance(output, Mapping):
            if output_key not in output:
                raise _missing_key_error(name, output_key, output)
            logits = output[output_key]
        elif hasattr(output, output_key):
            logits = getattr(output, output_key)
        else:
            raise _missing_key_error(name, output_key, output)
    elif isinstance(output_key, int) and not isinstance(output_key, bool):
        if not isinstance(output, (tuple, list)) or not -len(output) <= output_key < len(output):
            size = len(output) if isinstance(output, (tuple, list)) else "no"
            raise ValueError(
                f"output_key={output_key} indexes the {name}'s output, but it returned a "
                f"{_describe(output)} with {size} elements"
            )
        logits = output[output_key]
    else:
        raise TypeError(
            f"output_key must be None, a str, an int or a callable, not {type(output_key).__name__}"
        )
    if not isinstance(logits, torch.Tensor):
        via = "" if output_key is None else f" read with output_key={output_key!r}"
        raise TypeError(
            f"the {name} returned {_describe(output)}; the logits{via} are "
            f"{type(logits).__name__}, expected a tensor"
        )
    return logits


def _missing_key_error(name: str, key: str, output: Any) -> ValueError:
    """The error for an `output_key` the output does not have, listing what it has."""
    return ValueError(
        f"output_key={key!r}: the {name} returned a {_describe(output)}, which has no {key!r}"
    )


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
