"""benchmarks/gpu_check.py, the prepared GPU script of issue 31, runs every step end to end with
``--device cpu --quick``: a timed epoch, the UME sweep and the latency, a real `train` run, and a
DDP smoke test of two torchrun ranks over gloo; so a session lent a GPU spends its minutes on the
figures, not on the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_every_step_runs_on_the_cpu(shared_data: Path, tmp_path: Path) -> None:
    command = [
        sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--epochs", "1",
        "--repeats", "1", "--data", str(shared_data), "--out", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["environment"]["device"] == "cpu"
    (row,) = summary["speed"]
    assert row["framework"] == "its"
    assert row["epoch_s"] > 0
    assert row["ume_s"] > 0
    assert row["latency_ms"] > 0
    assert summary["train"]["status"] == "ok"
    assert 0.0 < summary["train"]["ume_average_waf"] <= 1.0
    assert summary["ddp"] == {**summary["ddp"], "status": "ok", "ranks": 2, "backend": "gloo"}
    report = (tmp_path / "gpu_check.md").read_text()
    assert "| paper (batch 32) | its | 32 | buckets |" in report
    assert "DDP smoke test: ok (exit 0, 2 rank(s) over gloo" in report
