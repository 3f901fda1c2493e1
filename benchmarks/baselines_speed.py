"""Seconds per forward+backward of each baseline at IEMOCAP-like shapes; prints a table.

Batch 8 conversations of 60 utterances, text 384 (this project's real MiniLM features), audio
512 and video 1024 (the paper's widths), 4 classes, missing rate about 0.3.
Run: ``nice -n 10 python benchmarks/baselines_speed.py [--repeats 5] [--device cpu]``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from iteach_app.model.baselines import BASELINES

from timing import median_seconds

WIDTHS = {"text": 384, "audio": 512, "video": 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=60)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    b, n = args.batch, args.length
    mask = torch.ones(b, n, dtype=torch.bool)
    present = torch.rand(b, n, len(WIDTHS), generator=g) > 0.3
    present[..., 0] |= ~present.any(-1)
    complete = {m: torch.randn(b, n, d, generator=g) for m, d in WIDTHS.items()}
    features = {m: x * present[..., i : i + 1] for i, (m, x) in enumerate(complete.items())}
    speakers = torch.randint(0, 2, (b, n), generator=g)
    labels = torch.randint(0, 4, (b, n), generator=g)
    to = args.device
    batch = (
        {m: x.to(to) for m, x in features.items()}, mask.to(to), present.to(to), speakers.to(to),
        {m: x.to(to) for m, x in complete.items()}, labels.to(to),
    )  # fmt: skip
    print(f"| model | parameters | s / forward+backward (B={b}, L={n}, {to}) |")
    print("|---|---:|---:|")
    for name, cls in BASELINES.items():
        model = cls(WIDTHS, 4).to(to).train()

        def step(model: torch.nn.Module = model) -> None:
            feats, m, p, s, c, y = batch
            logits = model(feats, m, p, s, complete=c)
            loss = F.cross_entropy(logits[m], y[m]) + model.auxiliary_loss()
            model.zero_grad(set_to_none=True)
            loss.backward()

        seconds = median_seconds(step, args.repeats, to)
        print(f"| {name} | {model.inference_parameters() / 1e6:.2f}M | {seconds:.4f} |")


if __name__ == "__main__":
    main()
