"""ITEACH-Net cost: parameter counts (vs the paper's Table 3), forward+backward time per training
batch, and inference latency per conversation, for the teacher and the student.

    .venv/bin/python benchmarks/model_bench.py [--batch-size 32] [--max-len 110] [--repeats 5]
    .venv/bin/python benchmarks/model_bench.py --quick      # batch 8, L <= 40, one repeat
"""

from __future__ import annotations

import argparse
import statistics

import torch

from iteach_app.model import (
    PAPER_DIMS,
    count_parameters,
    create_model,
    paper_parameter_table,
)

from timing import median_seconds


def _inputs(lengths: list[int], device: torch.device, seed: int):
    gen = torch.Generator().manual_seed(seed)
    length = max(lengths)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    features = {
        name: (torch.randn(len(lengths), length, dim, generator=gen) * mask[..., None]).to(device)
        for name, dim in PAPER_DIMS.items()
    }
    return features, mask.to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=110)
    parser.add_argument("--conversation-len", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="batch 8, L <= 40, one repeat")
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.max_len, args.conversation_len, args.repeats = 8, 40, 20, 1
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    gen = torch.Generator().manual_seed(args.seed)
    lengths = torch.randint(1, args.max_len + 1, (args.batch_size,), generator=gen).tolist()
    lengths[0] = args.max_len
    features, mask = _inputs(lengths, device, args.seed)
    single = _inputs([args.conversation_len], device, args.seed + 1)

    print(paper_parameter_table())
    print(
        f"\ndevice={device} threads={args.threads} batch={args.batch_size} "
        f"L<={args.max_len} (mean {statistics.mean(lengths):.0f}) repeats={args.repeats}\n"
    )
    header = f"inference / conversation of L={args.conversation_len} (ms)"
    print(f"| model | params | fwd+bwd / batch (ms) | {header} |")
    print("|---|---|---|---|")
    results = {}
    for name in ("teacher", "student"):
        torch.manual_seed(args.seed)
        model = create_model(f"iteach_{name}", PAPER_DIMS, 4).to(device)

        def train_step(model=model) -> None:
            model.train()
            model.zero_grad(set_to_none=True)
            model(features, mask)[mask].logsumexp(-1).mean().backward()

        def infer(model=model) -> None:
            model.eval()
            with torch.no_grad():
                model(*single)

        train = median_seconds(train_step, args.repeats, device)
        latency = median_seconds(infer, args.repeats, device)
        results[name] = (train, latency)
        print(f"| {name} | {count_parameters(model):,} | {train * 1e3:.1f} | {latency * 1e3:.2f} |")
    ratio_train = results["student"][0] / results["teacher"][0]
    ratio_infer = results["student"][1] / results["teacher"][1]
    print(f"\nstudent / teacher: training step x{ratio_train:.2f}, inference x{ratio_infer:.2f}")


if __name__ == "__main__":
    main()
