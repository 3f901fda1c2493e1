"""Two-process DistributedDataParallel run of InvertedTeacherStudent on gloo (CPU).

Run as a script: `python ddp_worker.py OUT_DIR`; each rank saves its loss, its (averaged) gradients
and its parameters after one SGD step to OUT_DIR/rank{r}.pt. `build` and `shard` are shared with
the test, which recomputes everything in one process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from its_distill import InvertedTeacherStudent

WORLD = 2
LR = 0.1


class Tagger(nn.Module):
    """Linear -> nn.TransformerEncoder -> Linear, (B, L, 6) -> (B, L, 3)."""

    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.embed = nn.Linear(6, width)
        layer = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.head = nn.Linear(width, 3)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x), src_key_padding_mask=padding_mask))


def build() -> InvertedTeacherStudent:
    """The same teacher (8 wide, 3 layers), student (16 wide, 4 layers) and projections."""
    torch.manual_seed(0)
    teacher, student = Tagger(8, 3), Tagger(16, 4)
    return InvertedTeacherStudent(
        teacher,
        student,
        teacher_layers=[f"encoder.layers.{i}" for i in (2, 1, 0)],
        student_layers=[f"encoder.layers.{i}" for i in (3, 2, 1)],
    )


def shard(rank: int) -> dict[str, torch.Tensor]:
    """Rank `rank`'s two conversations of a fixed global batch of four (lengths up to 5)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, 6, generator=g)
    valid = torch.arange(5) < torch.tensor([5, 3, 4, 2])[:, None]
    missing = torch.rand(4, 5, generator=g) < 0.5
    labels = torch.randint(0, 3, (4, 5), generator=g)
    rows = slice(2 * rank, 2 * rank + 2)
    return {
        "x": x[rows],
        "masked": x[rows].masked_fill(missing[rows, :, None], 0.0),
        "valid": valid[rows],
        "missing": missing[rows],
        "labels": labels[rows],
    }


def step(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Forward one batch through `model` (the wrapper or its DDP) and backpropagate the loss."""
    pad = ~batch["valid"]
    out = model(
        {"x": batch["x"], "padding_mask": pad},
        {"x": batch["masked"], "padding_mask": pad},
        batch["labels"],
        valid=batch["valid"],
        distill_where=batch["missing"],
    )
    out.loss.backward()
    return out.loss.detach()


def worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    its = build()
    model = DistributedDataParallel(its)
    loss = step(model, shard(rank))
    grads = {n: p.grad.clone() for n, p in its.named_parameters()}
    torch.optim.SGD(its.parameters(), lr=LR).step()
    params = {n: p.detach().clone() for n, p in its.named_parameters()}
    torch.save({"loss": loss, "grads": grads, "params": params}, Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    out = Path(sys.argv[1])
    # fork (on Linux) spares each process a fresh `import torch`; the parent runs no torch op.
    method = "fork" if sys.platform == "linux" else "spawn"
    args = (str(out / "init"), str(out))
    mp.start_processes(worker, args=args, nprocs=WORLD, join=True, start_method=method)
