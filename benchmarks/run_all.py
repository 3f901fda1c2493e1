"""Run every benchmark in this folder in turn (`make bench`); each prints its own ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# benchmark script -> its arguments under --quick
BENCHMARKS = {
    "ecce_bench.py": ["--quick"],
    "load_bench.py": ["--quick"],
    "model_bench.py": ["--quick"],
    "train_bench.py": ["--quick"],
    "experiments/epoch_speed.py": [],
    "speed_bench.py": [],
    "memory_bench.py": ["--quick"],
    "streaming_bench.py": ["--quick"],
}


def main(argv: list[str]) -> int:
    """Run the benchmarks named in `argv` (default: all), passing `--quick` on; 1 on failure."""
    quick = "--quick" in argv
    names = [name for name in argv if name != "--quick"] or list(BENCHMARKS)
    here = Path(__file__).resolve().parent
    failed = []
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        extra = BENCHMARKS.get(name, ["--quick"]) if quick else []
        if subprocess.run([sys.executable, str(here / name), *extra], check=False).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
