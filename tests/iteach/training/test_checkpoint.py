"""Checkpoints: exact round trip; anything corrupt, foreign or pickled is refused clearly."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import iteach_app
from iteach_app.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_model,
    restore_optimizer,
    save_checkpoint,
)


def _model_and_optimizer(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 7), nn.LayerNorm(7), nn.Linear(7, 3))
    optimizer = torch.optim.AdamW(
        [
            {"params": model[0].parameters(), "lr": 1e-2, "name": "a"},
            {"params": list(model[1].parameters()) + list(model[2].parameters()), "lr": 5e-3},
        ]
    )
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 5)).square().mean().backward()
        optimizer.step()
    return model, optimizer


def _save(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    save_checkpoint(
        path,
        model.state_dict(),
        kind="train-state",
        config_hash="abc",
        optimizer_state=optimizer.state_dict(),
        state={"epoch": 1, "history": [{"loss": 0.1 + 0.2}]},
    )


def test_round_trip_continues_training_identically(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "last.safetensors"
    _save(path, model, optimizer)
    checkpoint = load_checkpoint(path, kind="train-state", config_hash="abc")
    assert checkpoint.state == {"epoch": 1, "history": [{"loss": 0.1 + 0.2}]}
    copy, copy_optimizer = _model_and_optimizer(seed=1)
    restore_model(copy, checkpoint)
    restore_optimizer(copy_optimizer, checkpoint)
    x = torch.randn(4, 5)
    for net, opt in ((model, optimizer), (copy, copy_optimizer)):
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    for a, b in zip(model.state_dict().values(), copy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert copy_optimizer.param_groups[0]["name"] == "a"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _refused(path: Path, pattern: str, **kwargs) -> None:
    with pytest.raises(CheckpointError, match=pattern) as info:
        load_checkpoint(path, **kwargs)
    assert str(path) in str(info.value)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "c.safetensors"
    _save(path, model, optimizer)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "corrupt safetensors data|not a safetensors file")
    path.write_bytes(data[:5])
    _refused(path, "too short")


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(4096))
    _refused(path, "not a safetensors file")


def test_pickle_renamed_is_refused_unexecuted(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    _refused(path, "not a safetensors file")
    torch_file = tmp_path / "torch.safetensors"
    torch.save({"w": torch.ones(2)}, torch_file)
    _refused(torch_file, "not a safetensors file")


def test_foreign_safetensors_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"weight": torch.ones(2)}, plain)
    _refused(plain, "not an iteach-app checkpoint")
    tagged = tmp_path / "tagged.safetensors"
    save_file({"weight": torch.ones(2)}, tagged, metadata={"format": "someone-else"})
    _refused(tagged, "format tag 'someone-else'")
    future = tmp_path / "future.safetensors"
    meta = {"format": "iteach-app/checkpoint", "version": "99", "kind": "model"}
    save_file({"model.w": torch.ones(2)}, future, metadata=meta)
    _refused(future, "version '99' is not supported")
    stray = tmp_path / "stray.safetensors"
    save_file(
        {"model.w": torch.ones(2), "other": torch.ones(1)}, stray, metadata={**meta, "version": "1"}
    )
    _refused(stray, "unexpected tensors")


def test_wrong_kind_and_config_are_refused(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "c.safetensors"
    _save(path, model, optimizer)
    _refused(path, "kind 'train-state', expected 'model'", kind="model")
    _refused(path, "config hash", config_hash="zzz")


def test_model_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    model, optimizer = _model_and_optimizer()
    path = tmp_path / "c.safetensors"
    _save(path, model, optimizer)
    checkpoint = load_checkpoint(path)
    other = nn.Sequential(nn.Linear(5, 7), nn.LayerNorm(7), nn.Linear(7, 4))
    with pytest.raises(CheckpointError, match=r"'2\.weight' is \(3, 7\).*expects \(4, 7\)"):
        restore_model(other, checkpoint)
    with pytest.raises(CheckpointError, match="missing"):
        restore_model(nn.Sequential(nn.Linear(5, 7)), checkpoint)


def test_the_app_never_unpickles() -> None:
    """No code path of iteach_app can load a pickle: no torch.load, pickle, or weights_only."""
    source = Path(iteach_app.__file__).parent
    forbidden = re.compile(r"torch\.load|\bpickle\b|weights_only|torch\.serialization|\bdill\b")
    offenders = [
        f"{path.relative_to(source)}:{number}"
        for path in source.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert offenders == []
