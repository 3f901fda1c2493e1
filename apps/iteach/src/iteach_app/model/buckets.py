"""Length buckets inside a batch: run a model on groups of its conversations, each group padded
only to its own longest, and put the outputs back where the padded batch had them.

A shuffled batch of 32 IEMOCAP conversations is 43% padding, and attention pays for a padded
conversation quadratically. Sorting the batch's conversations by length and cutting them into a
few contiguous groups removes most of that work without changing which conversations share a
step (the epoch plan stays the seeded shuffle). Every ITEACHNet layer treats conversations
independently and keeps padding out of every mean, pool, convolution and attention, so a
conversation's outputs do not depend on the group it runs in: the real rows match the padded
forward to rounding.

The split minimises a cost model over the sorted lengths (dynamic programming over the
distinct lengths): ``cost(group) = per_call + n * L * per_row + n * L^2 * per_cell`` for ``n``
conversations padded to ``L``. ``per_call`` is the fixed price of one more forward (Python and
kernel launch overhead of every layer), in units of one padded utterance row; ``per_cell`` is
the price of one attention cell (query x key, all heads and layers) in the same unit. More
groups cut padding but each adds a call, so neither "one group per length" (launch overhead
times the number of lengths) nor "one group" (the padded batch) is right for every batch.
`DEFAULT_COST` comes from benchmarks/bucket_cost.py (ITS forward+backward of the paper's models
on CPU: one call costs about as much as 300 padded rows, one attention cell about 0.004 of a
row); a random IEMOCAP batch of 32 gets 2 to 3 groups and about 20% less modelled work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BucketCost:
    """Relative costs of one forward: per call, per padded utterance row, per attention cell."""

    per_call: float
    per_row: float = 1.0
    per_cell: float = 0.0

    def __call__(self, count: int, length: int) -> float:
        """Cost of one group of ``count`` conversations padded to ``length`` utterances."""
        return self.per_call + count * length * (self.per_row + length * self.per_cell)


DEFAULT_COST = BucketCost(per_call=300.0, per_row=1.0, per_cell=0.004)


def plan_buckets(lengths: Sequence[int], cost: BucketCost = DEFAULT_COST) -> list[list[int]]:
    """Groups of positions into ``lengths`` (shortest group first) whose summed ``cost`` is
    least. Groups are contiguous in length order and conversations of one length stay together,
    so the search runs over the distinct lengths: O(distinct^2)."""
    distinct = sorted(set(lengths))
    members: dict[int, list[int]] = {size: [] for size in distinct}
    for position, size in enumerate(lengths):
        members[size].append(position)
    counts = [0]
    for size in distinct:
        counts.append(counts[-1] + len(members[size]))
    m = len(distinct)
    best = [0.0] + [float("inf")] * m  # best[j]: least cost of the j shortest distinct lengths
    cut = [0] * (m + 1)
    for j in range(1, m + 1):
        for i in range(j):
            total = best[i] + cost(counts[j] - counts[i], distinct[j - 1])
            if total < best[j]:
                best[j], cut[j] = total, i
    bounds, j = [], m
    while j:
        bounds.append((cut[j], j))
        j = cut[j]
    return [
        [position for size in distinct[start:stop] for position in members[size]]
        for start, stop in reversed(bounds)
    ]


def extents(utterance_mask: torch.Tensor) -> list[int]:
    """Per conversation, one past its last real utterance (at least 1): (B,L) bool -> B ints."""
    positions = torch.arange(1, utterance_mask.shape[1] + 1, device=utterance_mask.device)
    last = (utterance_mask * positions).amax(dim=1).clamp(min=1)
    return last.tolist()


@dataclass(frozen=True)
class Bucket:
    """One group: its conversations' positions in the batch (n,) and its padded length."""

    index: torch.Tensor
    length: int

    def take(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, ...) -> (n, length, ...): this group's rows, cut to its length."""
        return x.index_select(0, self.index)[:, : self.length]


def split_batch(utterance_mask: torch.Tensor, cost: BucketCost = DEFAULT_COST) -> list[Bucket]:
    """The batch's buckets per `plan_buckets` on the conversations' extents."""
    sizes = extents(utterance_mask)
    device = utterance_mask.device
    return [
        Bucket(torch.tensor(group, device=device), max(sizes[i] for i in group))
        for group in plan_buckets(sizes, cost)
    ]


def take_inputs(
    bucket: Bucket,
    features: Mapping[str, torch.Tensor],
    utterance_mask: torch.Tensor,
    present: torch.Tensor | None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    """One bucket's ``features``, ``utterance_mask`` and ``present`` (None stays None)."""
    return (
        {name: bucket.take(x) for name, x in features.items()},
        bucket.take(utterance_mask),
        None if present is None else bucket.take(present),
    )


class Scatter:
    """Puts per-bucket outputs (n_k, L_k, D) back into one (B, L, D) tensor: real rows from their
    bucket, zeros on the padded rows. Built once per batch; `__call__` keeps autograd."""

    def __init__(self, buckets: Sequence[Bucket], utterance_mask: torch.Tensor) -> None:
        self.batch, self.length = utterance_mask.shape
        sources, targets, offset = [], [], 0
        for bucket in buckets:
            mask = bucket.take(utterance_mask)
            local = mask.reshape(-1).nonzero().squeeze(1)
            rows = torch.div(local, bucket.length, rounding_mode="floor")
            cols = local - rows * bucket.length
            sources.append(local + offset)
            targets.append(bucket.index[rows] * self.length + cols)
            offset += mask.numel()
        self.sources = torch.cat(sources)
        self.targets = torch.cat(targets)

    def __call__(self, outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-bucket (n_k, L_k, D...) in bucket order -> (B, L, D...)."""
        tail = outputs[0].shape[2:]
        flat = torch.cat([out.reshape(-1, *tail) for out in outputs]).index_select(0, self.sources)
        full = flat.new_zeros(self.batch * self.length, *tail)
        return full.index_copy(0, self.targets, flat).view(self.batch, self.length, *tail)
