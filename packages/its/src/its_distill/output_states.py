"""Hidden states read from what a model returns, e.g. a Hugging Face model called with
``output_hidden_states=True``, addressed by a layer spec instead of a module path.

A spec is ``KEY[INDEX]``: entry ``INDEX`` (negative counts from the end) of the sequence of
tensors the output holds under ``KEY`` (a Mapping key or an attribute), e.g. ``hidden_states[-1]``
for a Hugging Face model's last layer. ``KEY[INDEX][:, TOKEN]`` takes one position of a
``(B, T, D)`` state, e.g. ``hidden_states[-1][:, 0]`` (the first token) for a ``(B,)`` target.
Module paths never contain brackets, so a spec is told apart from a path by its form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

_SPEC = re.compile(r"^(?P<key>[A-Za-z_]\w*)\[(?P<index>-?\d+)\](?:\[:,\s*(?P<token>-?\d+)\])?$")


@dataclass(frozen=True)
class OutputState:
    """A parsed ``KEY[INDEX]`` / ``KEY[INDEX][:, TOKEN]`` spec."""

    spec: str
    key: str
    index: int
    token: int | None = None

    def read(self, output: Any, name: str) -> torch.Tensor:
        """The state this spec names in a model's ``output``; errors name the spec and the fix."""
        if isinstance(output, Mapping):
            states = output.get(self.key)
        else:
            states = getattr(output, self.key, None)
        if states is None:
            raise ValueError(
                f"{name} layer {self.spec!r}: the {name}'s output has no {self.key!r} (or it is "
                f"None); call the model with output_hidden_states=True (in its inputs or its "
                f"config) so that it returns them"
            )
        if isinstance(states, torch.Tensor) or not isinstance(states, Sequence):
            raise TypeError(
                f"{name} layer {self.spec!r}: {self.key!r} is a {type(states).__name__}, not a "
                f"sequence of tensors (one per layer)"
            )
        if not -len(states) <= self.index < len(states):
            raise ValueError(
                f"{name} layer {self.spec!r}: {self.key!r} holds {len(states)} states "
                f"(indices {-len(states)} .. {len(states) - 1})"
            )
        state = states[self.index]
        if self.token is None:
            return state
        if state.dim() < 3 or not -state.shape[1] <= self.token < state.shape[1]:
            raise ValueError(
                f"{name} layer {self.spec!r}: [:, {self.token}] needs a (B, T, D) state with "
                f"T > {self.token}, got shape {tuple(state.shape)}"
            )
        return state[:, self.token]


def parse_output_state(spec: str) -> OutputState | None:
    """The parsed spec, or None where ``spec`` is a module path."""
    match = _SPEC.match(spec)
    if match is None:
        return None
    token = match.group("token")
    return OutputState(
        spec, match.group("key"), int(match.group("index")), None if token is None else int(token)
    )


def model_width(model: nn.Module) -> int | None:
    """The width of a model's own hidden states: its config's ``hidden_size`` (Hugging Face), or
    its ``num_features`` (timm's width of the pooled features before the classifier)."""
    config = getattr(model, "config", None)
    for value in (getattr(config, "hidden_size", None), getattr(model, "num_features", None)):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def model_classes(model: nn.Module) -> int | None:
    """The number of classes a Hugging Face model says it predicts (``config.num_labels``)."""
    value = getattr(getattr(model, "config", None), "num_labels", None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
