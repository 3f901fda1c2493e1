"""A screenshot of `iteach-app serve`'s page after streaming a random conversation through it, in
headless Chromium (Debian's `chromium`, driven by playwright), for docs/results/serving.md.

    python benchmarks/serve_page_screenshot.py RUN [--out docs/results/serve-page.png]
        [--utterances 14] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn
from playwright.sync_api import sync_playwright

from iteach_app.serve.app import create_app
from iteach_app.serve.runtime import TorchRuntime

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def conversation(dims: dict[str, int], length: int, seed: int) -> str:
    """JSONL of ``length`` utterances, about a third of the modalities missing (never all)."""
    rng = np.random.default_rng(seed)
    lines = []
    for k in range(length):
        keep = rng.random(len(dims)) > 0.35
        keep[rng.integers(len(dims))] = True
        features = {m: (rng.normal(size=d) + 0.8 * np.sin(k / 3)).round(3).tolist()
                    if keep[j] else None for j, (m, d) in enumerate(dims.items())}  # fmt: skip
        lines.append(json.dumps({"utterance_id": f"u{k + 1}", "speaker": "AB"[k % 2],
                                 "features": features}))  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/results/serve-page.png"))
    parser.add_argument("--utterances", type=int, default=14)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    runtime = TorchRuntime(args.run)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function(
                "document.getElementById('model-info').textContent.includes('config')"
            )
            page.fill(
                "#conversation", conversation(runtime.info.modalities, args.utterances, args.seed)
            )
            page.click("#stream-all")
            page.wait_for_function("document.body.dataset.done === 'stream'", timeout=120_000)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
