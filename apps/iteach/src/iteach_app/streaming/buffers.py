"""A tensor that grows one row at a time at amortised O(row) cost: a KV cache's storage."""

from __future__ import annotations

import torch

FIRST_CAPACITY = 16


class RowBuffer:
    """Rows of shape ``row_shape`` appended one at a time; ``view()`` is (n, *row_shape).

    Storage doubles when full (``torch.cat`` per step would copy the whole prefix every step,
    O(n) per utterance), so an append costs O(row) amortised and a long conversation's state
    holds at most twice its rows. ``nbytes`` counts the storage held.
    """

    def __init__(self, row_shape: tuple[int, ...], dtype: torch.dtype, device: torch.device):
        self.row_shape = row_shape
        self.length = 0
        self.data = torch.empty(FIRST_CAPACITY, *row_shape, dtype=dtype, device=device)

    def append(self, row: torch.Tensor) -> None:
        """Add one row (shape ``row_shape``)."""
        if self.length == self.data.shape[0]:
            grown = self.data.new_empty(2 * self.length, *self.row_shape)
            grown[: self.length] = self.data
            self.data = grown
        self.data[self.length] = row
        self.length += 1

    def view(self) -> torch.Tensor:
        """The rows so far, (n, *row_shape), a view of the storage."""
        return self.data[: self.length]

    @property
    def nbytes(self) -> int:
        return self.data.numel() * self.data.element_size()
