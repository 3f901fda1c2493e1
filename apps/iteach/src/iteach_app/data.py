"""Datasets for a run, built by the config's data source; splits; batches.

A data source is one function registered with `@data_source(kind)` that turns a config into an
`ERCDataset`; `TrainConfig.data_source` names the kind ("gcnet", "conversations" or "synthetic").
Adding a source
is that function plus its fields in config/schema.py.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from erc_data import (
    ERCDataset,
    collate_conversations,
    load_conversations,
    load_gcnet,
)
from erc_data.batch import ConversationBatch
from iteach_app.config import ConfigError, TrainConfig

# Scaled-down synthetic defaults (the paper's widths are text 1024, audio 512, video 1024).
SYNTHETIC_DIMS = {"text": 64, "audio": 32, "video": 64}
SYNTHETIC_DIALOGUES = {"iemocap4": 151, "iemocap6": 151, "mosi": 93}


@dataclass
class DataBundle:
    """The whole dataset and its (train, val, test) split."""

    dataset: ERCDataset
    train: ERCDataset
    val: ERCDataset
    test: ERCDataset

    @property
    def task(self) -> str:
        """ "classification" or "regression"."""
        return self.dataset.task

    @property
    def out_dim(self) -> int:
        """Classifier width: the number of classes, or 1 for regression."""
        return int(self.dataset.num_classes) if self.task == "classification" else 1

    @property
    def modality_dims(self) -> dict[str, int]:
        """Modality name -> feature width."""
        return dict(self.dataset.modality_dims)


SourceFn = Callable[[TrainConfig], ERCDataset]
DATA_SOURCES: dict[str, SourceFn] = {}


def data_source(kind: str) -> Callable[[SourceFn], SourceFn]:
    """Decorator: register the function that builds the dataset of source ``kind``."""

    def decorate(fn: SourceFn) -> SourceFn:
        DATA_SOURCES[kind] = fn
        return fn

    return decorate


def build_dataset(config: TrainConfig) -> ERCDataset:
    """The dataset the config names, built by its data source."""
    kind = config.data_source
    if kind not in DATA_SOURCES:
        raise ConfigError(f"unknown data source {kind!r}; known: {', '.join(DATA_SOURCES)}")
    return DATA_SOURCES[kind](config)


@data_source("gcnet")
def gcnet_release(config: TrainConfig) -> ERCDataset:
    """A GCNet-release folder (data + dataset + features)."""
    root = Path(str(config.data))
    if not root.exists():
        raise ConfigError(f"data folder not found: {root}")
    return load_gcnet(root, str(config.dataset), config.features, cache_dir=config.cache_dir)


@data_source("conversations")
def own_conversations(config: TrainConfig) -> ERCDataset:
    """Your own utterance table (erc_data's format) with features modality -> .npz or folder;
    class names in the order of ``labels`` (else sorted). Splits come from its split column."""
    return load_conversations(
        str(config.conversations), config.features, label_names=config.labels or None
    )


def with_class_names(config: TrainConfig, dataset: ERCDataset) -> TrainConfig:
    """``config`` with ``labels`` set to the dataset's class names where the source named them
    and the config did not, so the run records its class order (for `evaluate` / `predict`)."""
    if config.data_source != "conversations" or config.labels or not dataset.label_names:
        return config
    return dataclasses.replace(config, labels=list(dataset.label_names))


@data_source("synthetic")
def synthetic_source(config: TrainConfig) -> ERCDataset:
    """A built-in synthetic set (seeded by the run's seed)."""
    return synthetic_dataset(
        str(config.synthetic),
        seed=config.seed,
        num_dialogues=config.synthetic_dialogues,
        dims=config.synthetic_dims or None,
        max_length=config.synthetic_max_length,
    )


def synthetic_dataset(
    name: str,
    *,
    seed: int = 0,
    num_dialogues: int | None = None,
    dims: dict[str, int] | None = None,
    max_length: int | None = None,
) -> ERCDataset:
    """A built-in synthetic set: ``iemocap4`` / ``iemocap6`` (3 modalities) or ``mosi``."""
    from erc_data import synthetic

    dims = dict(dims or SYNTHETIC_DIMS)
    kwargs: dict[str, Any] = {
        "seed": seed,
        "num_dialogues": num_dialogues or SYNTHETIC_DIALOGUES.get(name),
        "dims": dims,
    }
    if max_length is not None:
        kwargs["max_length"] = max_length
    builders = {
        "iemocap4": functools.partial(synthetic.iemocap_like, 4),
        "iemocap6": functools.partial(synthetic.iemocap_like, 6),
        "mosi": synthetic.mosi_like,
    }
    if name not in builders:
        raise ConfigError(f"unknown synthetic dataset {name!r}; use {', '.join(builders)}")
    return builders[name](**kwargs)


def build_splits(config: TrainConfig, dataset: ERCDataset | None = None) -> DataBundle:
    """Load (unless given) and split: IEMOCAP fold k tests Session k; val is carved from train.

    Features stay raw here: the models standardise their inputs themselves (FeatureStandardizer,
    fit on the training split by the trainer and stored in every checkpoint)."""
    dataset = dataset if dataset is not None else build_dataset(config)
    train, val, test = dataset.split(
        fold=config.fold, val_fraction=config.val_fraction, seed=config.seed
    )
    for name, part in (("train", train), ("test", test)):
        if len(part) == 0:
            raise ConfigError(f"{dataset.name}: the {name} split is empty")
    if len(val) == 0 and config.select_on == "val":
        raise ConfigError(
            f"{dataset.name}: the validation split is empty (val_fraction {config.val_fraction}); "
            "raise val_fraction or use select_on = test"
        )
    return DataBundle(dataset, train, val, test)


def chunks(items: Sequence[int], size: int) -> list[list[int]]:
    """Consecutive batches of ``size`` (the last may be shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def collate(dataset: ERCDataset, indices: Sequence[int]) -> ConversationBatch:
    """Pad the conversations at ``indices`` into one batch."""
    return collate_conversations([dataset[i] for i in indices])


def fixed_batches(
    dataset: ERCDataset, batch_size: int, device: torch.device
) -> list[ConversationBatch]:
    """The dataset in its stored order as batches on ``device`` (for evaluation, re-iterable)."""
    return [collate(dataset, idx).to(device) for idx in chunks(range(len(dataset)), batch_size)]
