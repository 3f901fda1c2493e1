"""Shared fixtures: where the real data lives, and a skip with a clear reason where it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ITEACH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real IEMOCAP / CMU-MOSI files (../shared/data); skips the test where absent."""
    if not (SHARED_DATA / "IEMOCAP").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set ITEACH_SHARED_DATA to its folder)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Tests use tiny tensors: one intra-op thread is the fastest on a shared 2-core machine, and
    bit-exact comparisons (resume, distributed) need a fixed thread count."""
    torch.set_num_threads(1)
