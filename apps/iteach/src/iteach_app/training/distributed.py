"""torch.distributed glue: torchrun detection, process group, DDP wrapping, per-rank sharding."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: rank among world_size processes (1 = not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes metrics, checkpoints and plots."""
        return self.rank == 0


def detect(env: Mapping[str, str] | None = None) -> DistInfo:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK; a single process where they are absent."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return DistInfo()
    try:
        info = DistInfo(
            rank=int(env.get("RANK", "0")),
            world_size=int(env["WORLD_SIZE"]),
            local_rank=int(env.get("LOCAL_RANK", env.get("RANK", "0"))),
        )
    except ValueError as err:
        raise ValueError(f"bad torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {err}") from None
    if not 0 <= info.rank < info.world_size:
        raise ValueError(f"RANK={info.rank} is outside WORLD_SIZE={info.world_size}")
    return info


def device_for(requested: str, info: DistInfo) -> torch.device:
    """cpu / cuda / cuda:N / auto -> a device; under torchrun cuda means cuda:LOCAL_RANK."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {requested}: torch sees no CUDA device here; use --device cpu")
    if requested == "cuda":
        return torch.device("cuda", info.local_rank if info.enabled else 0)
    return torch.device(requested)


BACKEND_VARIABLE = "ITEACH_DIST_BACKEND"
BACKENDS = ("nccl", "gloo")


def backend_for(device: torch.device, env: Mapping[str, str] | None = None) -> str:
    """nccl on CUDA, gloo on CPU, unless ``ITEACH_DIST_BACKEND`` names one: gloo lets ranks share
    one GPU (a smoke test on a single card), which nccl refuses."""
    env = os.environ if env is None else env
    chosen = env.get(BACKEND_VARIABLE, "").strip().lower()
    if not chosen:
        return "nccl" if device.type == "cuda" else "gloo"
    if chosen not in BACKENDS:
        raise ValueError(f"{BACKEND_VARIABLE} must be one of {', '.join(BACKENDS)}; got {chosen!r}")
    if chosen == "nccl" and device.type != "cuda":
        raise ValueError(f"{BACKEND_VARIABLE}=nccl needs --device cuda; this run is on {device}")
    return chosen


def init(info: DistInfo, device: torch.device, *, init_method: str | None = None) -> None:
    """Join the process group (`backend_for` the device) unless single-process or joined."""
    if not info.enabled or dist.is_initialized():
        return
    backend = backend_for(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend=backend,
        init_method=init_method or "env://",
        rank=info.rank,
        world_size=info.world_size,
    )


def shutdown(info: DistInfo) -> None:
    """Leave the process group where this process joined one."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op single-process)."""
    if info.enabled and dist.is_initialized():
        dist.barrier()


def wrap(module: nn.Module, device: torch.device, info: DistInfo) -> nn.Module:
    """DistributedDataParallel around ``module`` when distributed; the module itself otherwise."""
    if not info.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=ids, output_device=device.index if ids else None
    )


def shard(order: Sequence[int], info: DistInfo) -> list[int]:
    """This rank's part of a global order: padded (wrapping round) to a multiple of world_size,
    then every world_size-th item from ``rank``, so all ranks take the same number of steps."""
    items = list(order)
    if not info.enabled or not items:
        return items
    total = -(-len(items) // info.world_size) * info.world_size
    padded = (items * (total // len(items) + 1))[:total]
    return padded[info.rank :: info.world_size]


def broadcast_flag(info: DistInfo, flag: bool, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every rank (the flag itself single-process)."""
    if not info.enabled or not dist.is_initialized():
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.broadcast(value, src=0)
    return bool(value.item())
