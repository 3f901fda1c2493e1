"""Batch plans: which conversations go together, bounded by a count and a padded-utterance budget.

A batch pads every conversation to its longest, so its cost (memory and time) is
``len(batch) * max(lengths in batch)`` padded utterances, and attention adds the square of that
length. A plan is a pure function of the lengths and a generator, so an epoch's batches can be
rebuilt from (seed, epoch) alone and a resumed run takes up at the same step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class BatchPlanError(ValueError):
    """A batch plan's settings or input are invalid (a user error)."""


def padded_cost(lengths: Sequence[int], batch: Sequence[int]) -> int:
    """Padded utterances of one batch: its size times its longest conversation."""
    return len(batch) * max(lengths[i] for i in batch) if batch else 0


def _check(
    lengths: Sequence[int], max_conversations: int, max_utterances_per_batch: int | None
) -> None:
    if max_conversations < 1:
        raise BatchPlanError(f"batch_size must be at least 1, got {max_conversations}")
    if max_utterances_per_batch is not None and max_utterances_per_batch < 1:
        raise BatchPlanError(
            f"max_utterances_per_batch must be at least 1, got {max_utterances_per_batch}"
        )
    for index, length in enumerate(lengths):
        if length < 1:
            raise BatchPlanError(f"conversation {index} has {length} utterances; it needs one")


def pack(
    order: Sequence[int],
    lengths: Sequence[int],
    *,
    max_conversations: int,
    max_utterances_per_batch: int | None = None,
) -> list[list[int]]:
    """Cut ``order`` into consecutive batches of at most ``max_conversations`` conversations.

    Each batch's padded cost stays within ``max_utterances_per_batch``; a longer conversation
    goes alone.
    """
    _check(lengths, max_conversations, max_utterances_per_batch)
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        grown = max(longest, lengths[index])
        over_count = len(current) >= max_conversations
        over_utterances = (
            max_utterances_per_batch is not None
            and (len(current) + 1) * grown > max_utterances_per_batch
        )
        if current and (over_count or over_utterances):
            batches.append(current)
            current, grown = [], lengths[index]
        current.append(index)
        longest = grown
    if current:
        batches.append(current)
    return batches


def plan_epoch(
    lengths: Sequence[int],
    *,
    max_conversations: int,
    max_utterances_per_batch: int | None = None,
    length_aware: bool = False,
    generator: torch.Generator,
    pool_batches: int = 50,
) -> list[list[int]]:
    """One epoch's training batches, shuffled by ``generator``.

    ``length_aware=False`` keeps the plain shuffle cut into batches. ``length_aware=True`` sorts
    each pool of ``pool_batches * max_conversations`` shuffled conversations by length before
    cutting (similar lengths together, so little padding), then shuffles the batch order, so
    batches still mix across the epoch.
    """
    _check(lengths, max_conversations, max_utterances_per_batch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if not length_aware:
        return pack(
            order,
            lengths,
            max_conversations=max_conversations,
            max_utterances_per_batch=max_utterances_per_batch,
        )
    pool = max(1, pool_batches * max_conversations)
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(
            pack(
                chunk,
                lengths,
                max_conversations=max_conversations,
                max_utterances_per_batch=max_utterances_per_batch,
            )
        )
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def plan_fixed(
    lengths: Sequence[int],
    *,
    max_conversations: int,
    max_utterances_per_batch: int | None = None,
    length_aware: bool = True,
) -> list[list[int]]:
    """Evaluation batches in a fixed order: by length when ``length_aware`` (least padding), else
    in stored order. Results do not depend on it when masks are drawn per conversation."""
    _check(lengths, max_conversations, max_utterances_per_batch)
    order = list(range(len(lengths)))
    if length_aware:
        order.sort(key=lambda i: lengths[i])
    return pack(
        order,
        lengths,
        max_conversations=max_conversations,
        max_utterances_per_batch=max_utterances_per_batch,
    )
