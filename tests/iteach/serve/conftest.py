"""Fixtures of the serving tests: one tiny trained run, its runtime, an app and a client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip(
    "fastapi", reason="the serve extra is not installed: pip install 'iteach-app[serve]'"
)
pytest.importorskip("httpx", reason="fastapi's TestClient needs httpx")

from fastapi.testclient import TestClient

from iteach_app.serve.app import create_app
from iteach_app.serve.limits import Limits
from iteach_app.serve.runtime import TorchRuntime
from iteach_app.training.trainer import Trainer

TOKEN = "s3cret-token"


@contextmanager
def live_uvicorn(app: Any, **options: Any) -> Iterator[int]:
    """``app`` in a real uvicorn on a free loopback port, in a thread; yields the port once the
    server has started (30 s at most) and stops it on exit. ``options`` go to ``uvicorn.Config``
    (e.g. ``ws_max_size``): the tests of real sockets and of the page in a browser need a server
    that TestClient does not replace."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def served_run(tmp_path_factory, make_config) -> Path:
    """A tiny synthetic run trained for one epoch."""
    run = tmp_path_factory.mktemp("serve") / "run"
    Trainer(make_config(epochs=1), run, verbose=False).fit()
    return run


@pytest.fixture(scope="session")
def runtime(served_run) -> TorchRuntime:
    return TorchRuntime(served_run)


@pytest.fixture(scope="session")
def client(runtime) -> TestClient:
    """The app without a token, small limits so the limit tests stay small."""
    limits = Limits(max_body_bytes=64 * 1024, max_utterances=20, max_conversations=3)
    with TestClient(create_app(runtime, limits=limits)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def locked_client(runtime) -> TestClient:
    """The app with a bearer token."""
    with TestClient(create_app(runtime, token=TOKEN)) as test_client:
        yield test_client


def make_utterances(
    dims: dict[str, int], length: int, *, seed: int = 0, conversation_id: str = "c1"
) -> list[dict[str, Any]]:
    """``length`` utterance objects with random features, some modalities null (never all)."""
    rng = np.random.default_rng(seed)
    names = list(dims)
    out = []
    for k in range(length):
        keep = rng.random(len(names)) > 0.35
        keep[rng.integers(len(names))] = True
        features = {
            m: rng.normal(size=dims[m]).round(4).tolist() if keep[j] else None
            for j, m in enumerate(names)
        }
        out.append(
            {"conversation_id": conversation_id, "utterance_id": f"u{k}", "speaker": "AB"[k % 2],
             "features": features}
        )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def utterances_for() -> Any:
    """``utterances_for(length, seed=..., conversation_id=...)`` with the run's dims."""

    def build(length: int, **kw: Any) -> list[dict[str, Any]]:
        return make_utterances({"text": 8, "audio": 4, "video": 6}, length, **kw)

    return build


@pytest.fixture(scope="session")
def token() -> str:
    return TOKEN


@pytest.fixture(scope="session")
def causal_runtime(tmp_path_factory, make_config) -> TorchRuntime:
    """A tiny causal run (trained with --causal), whose stream is stepped incrementally."""
    run = tmp_path_factory.mktemp("serve-causal") / "run"
    Trainer(make_config(epochs=1, causal=True), run, verbose=False).fit()
    return TorchRuntime(run)
