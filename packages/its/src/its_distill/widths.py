"""Infer the feature width of a hooked module's output at construction, by a documented rule."""

from __future__ import annotations

from torch import nn

WIDTH_ATTRIBUTES = ("out_features", "embed_dim", "hidden_size", "d_model")


def _own_width(module: nn.Module) -> int | None:
    if isinstance(module, nn.RNNBase):
        size = module.proj_size if getattr(module, "proj_size", 0) else module.hidden_size
        return size * (2 if module.bidirectional else 1)
    for name in WIDTH_ATTRIBUTES:
        value = getattr(module, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    shape = getattr(module, "normalized_shape", None)
    if isinstance(shape, (tuple, list)) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return None


def infer_width(module: nn.Module) -> int | None:
    """Width of `module`'s output, or None where the rule does not apply.

    Rule: for an RNN / GRU / LSTM, its output width (`proj_size` or `hidden_size`, twice that
    when bidirectional); else the module's own `out_features`, `embed_dim`, `hidden_size` or
    `d_model` (first found), or the last entry of its `normalized_shape`; failing those, the same
    attributes on its last submodule (in `modules()` order) that has one: e.g. `norm2` of an
    `nn.TransformerEncoderLayer`, the last `nn.Linear` of an `nn.Sequential`.
    """
    own = _own_width(module)
    if own is not None:
        return own
    for sub in reversed(list(module.modules())[1:]):
        width = _own_width(sub)
        if width is not None:
            return width
    return None
