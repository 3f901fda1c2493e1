"""The run's batches: each epoch's training batches and the fixed evaluation batches, planned by
`batching` from the conversations' lengths, the config's ``batch_size`` (conversations) and
``max_utterances_per_batch`` (padded utterances; 0 in the config, None here: no limit).

The epoch plan is a function of (seed, epoch) alone (the generator the order always came from),
so a resumed run rebuilds the same batches; with ``length_aware`` off and no
``max_utterances_per_batch`` it is the seeded shuffle cut into ``batch_size`` batches.
"""

from __future__ import annotations

import torch

from erc_data import ERCDataset
from erc_data.batch import ConversationBatch
from iteach_app.config import TrainConfig
from iteach_app.data import collate
from iteach_app.training import distributed
from iteach_app.training.batching import plan_epoch, plan_fixed
from iteach_app.training.distributed import DistInfo
from iteach_app.training.step import generator


def conversation_lengths(dataset: ERCDataset) -> list[int]:
    """Utterances per conversation, in the dataset's order."""
    return [len(conversation) for conversation in dataset]


def epoch_batches(
    dataset: ERCDataset, config: TrainConfig, epoch: int, dist: DistInfo | None = None
) -> list[list[int]]:
    """This rank's training batches of ``epoch`` (lists of indices into ``dataset``).

    Distributed: the global plan's batches are dealt round-robin (wrapping round), so every rank
    takes the same number of steps.
    """
    batches = plan_epoch(
        conversation_lengths(dataset),
        max_conversations=config.batch_size,
        max_utterances_per_batch=config.max_utterances_per_batch or None,
        length_aware=config.length_aware,
        generator=generator(config.seed, "order", epoch),
    )
    return distributed.shard(batches, dist or DistInfo())


def too_long(dataset: ERCDataset, max_utterances_per_batch: int | None) -> list[tuple[str, int]]:
    """(id, length) of the conversations longer than ``max_utterances_per_batch`` (each goes
    alone in its batch)."""
    if not max_utterances_per_batch:
        return []
    return [(str(c.id), len(c)) for c in dataset if len(c) > max_utterances_per_batch]


def evaluation_plan(
    dataset: ERCDataset, batch_size: int, max_utterances_per_batch: int | None
) -> list[list[int]]:
    """Fixed evaluation batches: sorted by length (least padding), within both limits."""
    return plan_fixed(
        conversation_lengths(dataset),
        max_conversations=batch_size,
        max_utterances_per_batch=max_utterances_per_batch,
        length_aware=True,
    )


def evaluation_batches(
    dataset: ERCDataset,
    batch_size: int,
    max_utterances_per_batch: int | None,
    device: torch.device,
) -> list[ConversationBatch]:
    """The dataset as fixed evaluation batches on ``device`` (re-iterable)."""
    plan = evaluation_plan(dataset, batch_size, max_utterances_per_batch)
    return [collate(dataset, indices).to(device) for indices in plan]
