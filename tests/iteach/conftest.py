"""Tiny configs and data for the app's tests (hidden 16, short synthetic conversations)."""

from __future__ import annotations

from typing import Any

import pytest

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
