"""Fixtures of the own-conversations tests: a tiny table in erc_data's own format, with class
names and a split column, and features (.npz for text, a folder of .npy for audio) that carry
the class."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.iteach.conftest import invoke

CLASSES = ("neutral", "happy", "angry")
DIMS = {"text": 8, "audio": 5}


def write_own_table(
    folder: Path,
    *,
    conversations: int = 12,
    splits: Sequence[str] | None = ("train", "train", "train", "train", "val", "test"),
    labelled: bool = True,
    dims: dict[str, int] | None = None,
    seed: int = 0,
    drop: dict[str, Sequence[str]] | None = None,
) -> tuple[Path, dict[str, str]]:
    """``folder/table.jsonl`` and its features; ``drop`` modality -> utterance ids left out.

    Returns the table path and the ``--features`` mapping (modality -> path).
    """
    rng = np.random.default_rng(seed)
    dims = dims or DIMS
    folder.mkdir(parents=True, exist_ok=True)
    rows, arrays = [], {m: {} for m in dims}
    for c in range(conversations):
        for k in range(int(rng.integers(3, 7))):
            cls = int(rng.integers(len(CLASSES)))
            uid = f"s{seed}c{c}u{k}"
            row = {"conversation_id": f"s{seed}c{c}", "utterance_id": uid, "speaker": "AB"[k % 2]}
            if labelled:
                row["label"] = CLASSES[cls]
            if splits:
                row["split"] = splits[c % len(splits)]
            rows.append(row)
            for m, d in dims.items():
                x = rng.normal(0, 0.3, d).astype(np.float32)
                x[cls % d] += 2.0
                arrays[m][uid] = x
    table = folder / "table.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths: dict[str, str] = {}
    for m, by_id in arrays.items():
        kept = {u: x for u, x in by_id.items() if u not in set((drop or {}).get(m, ()))}
        if m == "text":
            paths[m] = str(folder / "text.npz")
            np.savez(paths[m], **kept)
        else:
            (folder / m).mkdir(exist_ok=True)
            for u, x in kept.items():
                np.save(folder / m / f"{u}.npy", x)
            paths[m] = str(folder / m)
    return table, paths


def features_option(paths: dict[str, str]) -> str:
    """The ``--features`` value for ``paths``."""
    return ",".join(f"{m}={p}" for m, p in paths.items())


def tiny_model_flags(*, max_distance: int = 6, eval_rates: str = "0,0.3,0.7") -> tuple[str, ...]:
    """``train`` flags of a tiny model on the CPU (hidden 16, one thread, no periodic checkpoint),
    so that a test's run trains in seconds."""
    return (
        *("--hidden-dim", "16", "--num-heads", "2", "--mlp-ratio", "2", "--window", "3"),
        *("--max-distance", str(max_distance), "--batch-size", "4", "--device", "cpu"),
        *("--threads", "1", "--eval-rates", eval_rates, "--checkpoint-every", "0"),
    )


def train_on_own_table(
    table: Path, features: dict[str, str], out: Path, *flags: object, name: str = "own"
) -> Path:
    """``iteach-app train --conversations TABLE --features ... --out OUT --name NAME FLAGS``;
    asserts that it succeeded and returns the run folder."""
    result = invoke(
        "train", "--conversations", table, "--features", features_option(features),
        "--out", out, "--name", name, *flags,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / name


@pytest.fixture(scope="session")
def own_table():
    """``own_table(folder, **options)`` -> (table path, features mapping); see write_own_table."""
    return write_own_table


@pytest.fixture(scope="session")
def features_arg():
    """``features_arg(paths)`` -> the ``--features`` option value."""
    return features_option
