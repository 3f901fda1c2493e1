"""Tiny configs and data for the app's tests (hidden 16, short synthetic conversations)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import Result
from safetensors.torch import load_file
from typer.testing import CliRunner

from erc_data import ERCDataset
from erc_data.conversation import Conversation
from iteach_app.config import TrainConfig, resolve
from iteach_app.config.schema import MODEL_SETTINGS
from iteach_app.data import DataBundle, build_splits

TINY: dict[str, Any] = {
    "synthetic": "iemocap4",
    "synthetic_dialogues": 14,
    "synthetic_dims": {"text": 8, "audio": 4, "video": 6},
    "synthetic_max_length": 12,
    "hidden_dim": 16,
    "num_heads": 2,
    "mlp_ratio": 2.0,
    "window": 3,
    "max_distance": 6,
    "epochs": 2,
    "batch_size": 4,
    "lr": 1e-3,
    "device": "cpu",
    "checkpoint_every": 0,
    "eval_rates": [0.0, 0.3, 0.7],
}


def tiny_config(**overrides: Any) -> TrainConfig:
    """A validated tiny config (2 epochs of 3 steps); a baseline (``model=``) keeps its own
    sizes, as it refuses ITEACH-Net's."""
    base = TINY
    if overrides.get("model", "iteach") != "iteach":
        base = {k: v for k, v in TINY.items() if k not in MODEL_SETTINGS}
    return resolve(overrides={**base, **overrides}, source="test")


def with_features(
    dataset: ERCDataset,
    features_of: Callable[[Conversation], dict[str, np.ndarray]],
    modality_dims: dict[str, int] | None = None,
) -> ERCDataset:
    """``dataset`` with each conversation's features replaced by ``features_of(conversation)``
    (called in order, so a seeded generator gives the same arrays every run); ids, speakers,
    labels, release split and folds are kept, so only the features differ from ``dataset``."""
    conversations = [
        Conversation(c.id, c.utterance_ids, c.speakers, c.labels, features_of(c)) for c in dataset
    ]
    return ERCDataset(
        conversations,
        name=dataset.name,
        task=dataset.task,
        num_classes=dataset.num_classes,
        modality_dims=modality_dims or dataset.modality_dims,
        speaker_names=dataset.speaker_names,
        release_split=dataset.release_split,
        folds=dataset.folds,
    )


def with_noise(dataset: ERCDataset, dim: int, scale: float, seed: int = 1) -> ERCDataset:
    """``dataset`` plus a modality "noise": N(0, scale^2) per dim, independent of the labels
    (the planted modality of the robust-fusion and audit tests)."""
    rng = np.random.default_rng(seed)

    def plus_noise(c: Conversation) -> dict[str, np.ndarray]:
        return {**c.features, "noise": scale * rng.standard_normal((len(c), dim), dtype=np.float32)}

    return with_features(dataset, plus_noise, {**dataset.modality_dims, "noise": dim})


def toml_text(values: dict[str, Any]) -> str:
    """``values`` as a config file's TOML: plain keys first, then one table per dict value (the
    tests write the TINY settings to a file to exercise ``--config``)."""
    lines, tables = [], []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append(f"[{key}]\n" + "".join(f"{k} = {v}\n" for k, v in value.items()))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n" + "\n".join(tables)


def invoke(*args: object, stdin: str | None = None) -> Result:
    """``iteach-app ARGS`` in this process (each argument str()-ed, so paths and numbers pass as
    they are); an exception becomes the result's exit code, as a user would see it."""
    from iteach_app.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=stdin)


def invoke_raising(*args: object) -> Result:
    """``invoke`` that lets an exception escape, so a crash shows its traceback in the test."""
    from iteach_app.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


class Interrupt(Exception):
    """Stands in for a crash in the middle of an epoch (the resume tests' planted failure)."""


def crash_at_step(global_step: int) -> Callable[[Any], None]:
    """An ``on_step`` callback that raises Interrupt once the run reaches ``global_step``, so a
    resume test can cut a run at a known point and compare it with an uninterrupted one."""

    def crash(state: Any) -> None:
        if state.global_step == global_step:
            raise Interrupt

    return crash


def fit_quietly(config: TrainConfig, run_dir: Path, data: DataBundle, **kwargs: Any) -> Any:
    """Train ``config`` into ``run_dir`` on ``data`` without printing; the Trainer's result."""
    from iteach_app.training.trainer import Trainer

    return Trainer(config, run_dir, data=data, verbose=False, **kwargs).fit()


def assert_same_checkpoint(run_a: Path, run_b: Path, name: str = "last") -> None:
    """Both runs' ``checkpoints/NAME.safetensors`` hold the same tensors, bit for bit."""
    a = load_file(run_a / "checkpoints" / f"{name}.safetensors")
    b = load_file(run_b / "checkpoints" / f"{name}.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="session")
def make_config() -> Any:
    """``make_config(**overrides)`` -> a tiny TrainConfig."""
    return tiny_config


@pytest.fixture(scope="session")
def tiny_overrides() -> dict[str, Any]:
    """The tiny settings as plain overrides (for child processes)."""
    return dict(TINY)


@pytest.fixture(scope="session")
def tiny_data() -> DataBundle:
    """The tiny synthetic dataset split once for the session."""
    return build_splits(tiny_config())


@pytest.fixture(autouse=True, scope="session")
def _audit_cache_in_tmp(tmp_path_factory) -> Any:
    """The modality audit's cache goes to a temporary folder, not the user's cache."""
    import os

    previous = os.environ.get("ITEACH_CACHE")
    os.environ["ITEACH_CACHE"] = str(tmp_path_factory.mktemp("iteach-cache"))
    yield
    if previous is None:
        os.environ.pop("ITEACH_CACHE", None)
    else:
        os.environ["ITEACH_CACHE"] = previous
