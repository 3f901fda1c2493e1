"""A resume whose last.safetensors holds an impossible training state, or a checkpoint whose
JSON header is deeply nested or too large: one `error:` line naming the file, no retraining."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.training.checkpoint import CheckpointError, load_checkpoint
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("resume")
    result = runner.invoke(app, ["train", *TINY, "--out", str(out), "--name", "run"])
    assert result.exit_code == 0, result.output
    return out / "run"


def _copy_with_state(run: Path, tmp_path: Path, **changes) -> Path:
    """A copy of the run whose last checkpoint's training state has ``changes``."""
    copy = tmp_path / "run"
    copy.mkdir()
    for item in run.rglob("*"):
        if item.is_file() and item.name != ".iteach-app.lock":
            target = copy / item.relative_to(run)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.read_bytes())
    last = copy / "checkpoints" / "last.safetensors"
    header_len = struct.unpack("<Q", last.read_bytes()[:8])[0]
    metadata = json.loads(last.read_bytes()[8 : 8 + header_len])["__metadata__"]
    state = {**json.loads(metadata["state"]), **changes}
    metadata["state"] = json.dumps(state)  # NaN is written as the JSON literal NaN
    save_file(load_file(last), last, metadata=metadata)
    return copy


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epoch", -3),
        ("epoch", 10**6),
        ("epoch", 1.5),
        ("step", -1),
        ("global_step", float("nan")),
        ("best_metric", float("nan")),
        ("best_epoch", 0),
        ("sums", {"loss": float("inf")}),
        ("history", "no"),
    ],
)
def test_impossible_training_state_is_refused(finished, tmp_path, field, value) -> None:
    copy = _copy_with_state(finished, tmp_path, **{field: value})
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    _fails_clearly(["train", "--resume", copy], f"training state {field}=")
    after = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before  # nothing retrained, nothing rewritten


def _write_raw(path: Path, header: bytes) -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def test_deeply_nested_header_names_the_file(tmp_path) -> None:
    path = _write_raw(tmp_path / "deep.safetensors", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(CheckpointError, match=r"deep\.safetensors.*nested too deeply"):
        load_checkpoint(path)


def test_deeply_nested_metadata_names_the_file(tmp_path) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    header = json.dumps({"__metadata__": {"format": "iteach-app/checkpoint", "state": nested}})
    path = _write_raw(tmp_path / "meta.safetensors", header.encode())
    with pytest.raises(CheckpointError, match=r"meta\.safetensors"):
        load_checkpoint(path)


def test_header_larger_than_the_file_names_the_file(tmp_path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(CheckpointError, match=r"huge\.safetensors.*header length"):
        load_checkpoint(path)


def test_deep_header_through_evaluate_is_one_line(finished, tmp_path) -> None:
    copy = _copy_with_state(finished, tmp_path)
    _write_raw(copy / "checkpoints" / "best.safetensors", b"[" * 100_000 + b"]" * 100_000)
    _fails_clearly(["evaluate", copy], "best.safetensors")
