"""Run every benchmark in this folder in turn (`make bench`); each prints its own ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = ("ecce_bench.py", "load_bench.py", "model_bench.py", "train_bench.py")


def main(argv: list[str]) -> int:
    """Run the benchmarks named in `argv` (default: all), passing `--quick` on; 1 on failure."""
    quick = ["--quick"] if "--quick" in argv else []
    names = [name for name in argv if name != "--quick"] or list(BENCHMARKS)
    here = Path(__file__).resolve().parent
    failed = []
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        if subprocess.run([sys.executable, str(here / name), *quick], check=False).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
