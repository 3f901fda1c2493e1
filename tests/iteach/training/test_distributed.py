"""DDP over two gloo processes matches one process averaging the two shards' losses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from iteach_app.data import build_splits, collate
from iteach_app.training.distributed import DistInfo, backend_for, detect, shard
from iteach_app.training.framework import build_framework, build_optimizer
from iteach_app.training.plans import epoch_batches
from iteach_app.training.step import run_step
from iteach_app.training.trainer import fit_input_statistics
from missing_modality import ModalityMasker, parse_schedule
from tests.iteach.conftest import TINY

WORKER = Path(__file__).with_name("worker.py")


def test_detect_reads_torchrun_environment() -> None:
    assert detect({}) == DistInfo()
    info = detect({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert (info.rank, info.world_size, info.enabled, info.is_main) == (1, 2, True, False)
    with pytest.raises(ValueError, match="outside WORLD_SIZE"):
        detect({"RANK": "2", "WORLD_SIZE": "2"})


def test_backend_follows_the_device_unless_the_environment_names_one() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert backend_for(cpu, {}) == "gloo"
    assert backend_for(cuda, {}) == "nccl"
    assert backend_for(cuda, {"ITEACH_DIST_BACKEND": " GLOO "}) == "gloo"  # ranks sharing a GPU
    with pytest.raises(ValueError, match="ITEACH_DIST_BACKEND must be one of nccl, gloo"):
        backend_for(cuda, {"ITEACH_DIST_BACKEND": "mpi"})
    with pytest.raises(ValueError, match="nccl needs --device cuda"):
        backend_for(cpu, {"ITEACH_DIST_BACKEND": "nccl"})


def test_shards_are_equal_sized_and_cover_everything() -> None:
    order = [5, 3, 9, 0, 1, 7, 2]
    parts = [shard(order, DistInfo(rank, 3)) for rank in range(3)]
    assert [len(p) for p in parts] == [3, 3, 3]
    assert set().union(*parts) == set(order)
    assert shard(order, DistInfo()) == order


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_ranks_match_one_process(tmp_path: Path, make_config) -> None:
    overrides = {
        **TINY,
        "synthetic_max_length": 10,
        "epochs": 1,
        "batch_size": 2,
        "eval_rates": [0.0],
        "preset": "paper",  # the reference loop below: constant rate, plain cross-entropy
    }
    run_dir = tmp_path / "run"
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        args = [sys.executable, str(WORKER), json.dumps(overrides), str(run_dir)]
        procs.append(subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True))
    errors = [proc.communicate(timeout=300)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    ddp = load_file(run_dir / "checkpoints" / "last.safetensors")

    config = make_config(**overrides)
    data = build_splits(config)
    model = build_framework(config, data.modality_dims, data.out_dim, data.task)
    fit_input_statistics(model, data.train, config.standardize)
    optimizer = build_optimizer(model, config)
    masker = ModalityMasker(model.student.modalities, keep_at_least=1)
    schedule = parse_schedule(config.mask_schedule)
    per_rank = [epoch_batches(data.train, config, 0, DistInfo(rank, 2)) for rank in range(2)]
    assert len(per_rank[0]) == len(per_rank[1]) >= 2
    model.train()
    for step in range(len(per_rank[0])):
        optimizer.zero_grad()
        losses = [
            run_step(
                model,
                collate(data.train, per_rank[rank][step]),
                masker=masker,
                schedule=schedule,
                seed=config.seed,
                epoch=0,
                step=step,
                rank=rank,
            ).loss
            for rank in range(2)
        ]
        (sum(losses) / 2).backward()
        optimizer.step()
    single = model.state_dict()
    assert (run_dir / "metrics.json").is_file()
    for name, value in single.items():
        torch.testing.assert_close(ddp[f"model.{name}"], value, rtol=1e-5, atol=1e-5, msg=name)
