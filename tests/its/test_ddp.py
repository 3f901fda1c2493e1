"""Under DistributedDataParallel (2 CPU processes, gloo) the wrapper trains like one process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


def _load_worker():
    spec = importlib.util.spec_from_file_location("its_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_gloo_processes_match_single_process(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    worker = _load_worker()

    losses, grads = [], []
    for rank in range(2):
        its = worker.build()
        losses.append(worker.step(its, worker.shard(rank)))
        grads.append({n: p.grad.clone() for n, p in its.named_parameters()})
    reference = worker.build()
    for name, p in reference.named_parameters():
        p.grad = (grads[0][name] + grads[1][name]) / 2
    torch.optim.SGD(reference.parameters(), lr=worker.LR).step()

    for rank, saved in enumerate(ranks):
        assert torch.allclose(saved["loss"], losses[rank], rtol=1e-6, atol=1e-7)
        assert set(saved["grads"]) == set(grads[0])
        for name, p in reference.named_parameters():
            mean = (grads[0][name] + grads[1][name]) / 2
            assert torch.allclose(saved["grads"][name], mean, rtol=1e-5, atol=1e-7), name
            assert torch.allclose(saved["params"][name], p.detach(), rtol=1e-5, atol=1e-7), name
    assert any(n.startswith("projections.") for n in ranks[0]["params"])
    for name, p in ranks[0]["params"].items():
        assert torch.equal(p, ranks[1]["params"][name]), name
    assert not torch.equal(ranks[0]["loss"], ranks[1]["loss"])
