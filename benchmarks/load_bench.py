"""Cold and warm load times of IEMOCAP 6-way text features (7,433 .npy files) with erc_data.

Cold: an empty cache folder (label pickle + every feature file read, then the cache written).
Warm: the same call again (the packed cache read). Usage:
    python benchmarks/load_bench.py [--root ../shared/data] [--repeats 3 | --quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from erc_data import load_gcnet

DEFAULT_ROOT = Path(
    os.environ.get("ITEACH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _timed(root: Path, cache: Path | bool) -> tuple[float, int]:
    start = time.perf_counter()
    ds = load_gcnet(root, "IEMOCAPSix", {"text": "minilm-384-UTT"}, cache_dir=cache)
    return time.perf_counter() - start, ds.num_utterances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
    if not (args.root / "IEMOCAP").is_dir():
        print(f"skipped: real data not found at {args.root} (pass --root or ITEACH_SHARED_DATA)")
        return
    cold, warm, uncached = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            seconds, n = _timed(args.root, Path(cache))
            cold.append(seconds)
            warm.append(min(_timed(args.root, Path(cache))[0] for _ in range(3)))
        uncached.append(_timed(args.root, False)[0])
    print(f"IEMOCAPSix text (minilm-384-UTT): {n} utterances, best of {args.repeats}")
    print(f"  cold (empty cache, writes it): {min(cold):7.3f} s   (target < 10 s)")
    print(f"  no cache (cache_dir=False):    {min(uncached):7.3f} s")
    print(f"  warm (packed cache):           {min(warm):7.3f} s   (target < 1 s)")
    print(f"  cold / warm:                   {min(cold) / min(warm):7.1f}x")


if __name__ == "__main__":
    main()
