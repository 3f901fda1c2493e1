"""Load test of `iteach-app serve` on loopback: concurrent streaming conversations over the
WebSocket, then the server killed with SIGKILL mid-load and restarted.

Bounded in count and time: ``--conversations`` sockets of ``--utterances`` utterances each, every
wait under ``--timeout`` seconds; the server binds 127.0.0.1 only. For each runtime it reports
per-utterance latency p50 / p99 (send to prediction received), throughput (predictions per second
of wall time), lost and reordered predictions (each socket checks it got one prediction per
utterance, in its order), and the server's resident memory before and after the load.
The kill phase: ``--conversations`` sockets streaming, SIGKILL after ``--kill-after`` seconds;
what each client saw (close codes / errors), then a new server on the same port answers.

    python benchmarks/serve_load.py [--run RUN] [--runtimes torch] [--conversations 50]
        [--utterances 100] [--timeout 600]

Without ``--run``, a small synthetic run (hidden 64, text 64 / audio 32 / video 64) is trained
into /tmp first (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import websockets

DIMS = {"text": 64, "audio": 32, "video": 64}


def train_run(out: Path) -> Path:
    """A small synthetic run (1 epoch) to serve, unless one is there already."""
    run = out / "serve-load-run"
    if (run / "checkpoints" / "best.safetensors").is_file():
        return run
    from iteach_app.config import resolve
    from iteach_app.training.trainer import Trainer

    config = resolve(overrides={
        "synthetic": "iemocap4", "synthetic_dims": DIMS, "hidden_dim": 64, "num_heads": 4,
        "epochs": 1, "device": "cpu", "checkpoint_every": 0, "eval_rates": [0.0, 0.5],
    }, source="serve_load")  # fmt: skip
    Trainer(config, run, verbose=False).fit()
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(run: Path, runtime: str, port: int, timeout: float) -> subprocess.Popen:
    """`iteach-app serve RUN` on 127.0.0.1:port, returned once /health answers."""
    cmd = [sys.executable, "-m", "iteach_app", "serve", str(run), "--host", "127.0.0.1",
           "--port", str(port), "--runtime", runtime]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if json.load(r)["status"] == "ok":
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not answer /health in time")


def model_dims(port: int) -> dict[str, int]:
    """The served run's modalities and dims (GET /v1/model)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/model", timeout=10) as r:
        return {m["name"]: m["dim"] for m in json.load(r)["modalities"]}


def utterances(seed: int, count: int, dims: dict[str, int]) -> list[str]:
    """``count`` utterance frames of one conversation, some modalities missing (never all)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(count):
        keep = rng.random(len(dims)) > 0.3
        keep[rng.integers(len(dims))] = True
        features = {m: rng.normal(size=d).round(4).tolist() if keep[j] else None
                    for j, (m, d) in enumerate(dims.items())}  # fmt: skip
        frames.append(json.dumps({"conversation_id": f"c{seed}", "utterance_id": f"u{k}",
                                  "speaker": "AB"[k % 2], "features": features}))  # fmt: skip
    return frames


async def converse(port: int, seed: int, count: int, timeout: float, dims: dict) -> dict:
    """One socket: send an utterance, wait for its prediction, next; latencies and checks."""
    latencies, got, outcome = [], [], "complete"
    frames = utterances(seed, count, dims)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=2**24) as ws:
            for frame in frames:
                start = time.perf_counter()
                await ws.send(frame)
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                if "error" in reply:
                    outcome = f"error frame: {reply['error']}"
                    break
                latencies.append(time.perf_counter() - start)
                got.append(reply.get("utterance_id"))
            else:
                await ws.send(json.dumps({"end": True}))
                await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as err:
        code = err.rcvd.code if err.rcvd else None
        outcome = f"closed (code {code if code is not None else '1006, no close frame'})"
    except OSError as err:
        outcome = f"connection error ({type(err).__name__})"
    except asyncio.TimeoutError:
        outcome = "timeout"
    reordered = sum(uid != f"u{k}" for k, uid in enumerate(got))
    return {"latencies": latencies, "received": len(got), "sent": count,
            "reordered": reordered, "outcome": outcome}  # fmt: skip


async def load(port: int, conversations: int, count: int, timeout: float) -> tuple[list, float]:
    """All sockets at once; those still running after ``timeout`` s are cancelled and counted
    as timed out (their predictions so far are kept out of the figures)."""
    dims = model_dims(port)
    start = time.perf_counter()
    tasks = [
        asyncio.ensure_future(converse(port, seed, count, timeout, dims))
        for seed in range(conversations)
    ]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    results = [task.result() for task in done]
    results += [{"latencies": [], "received": 0, "sent": count, "reordered": 0,
                 "outcome": f"not finished in {timeout:.0f} s"} for _ in pending]  # fmt: skip
    return results, time.perf_counter() - start


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


def measure(run: Path, runtime: str, args: argparse.Namespace) -> dict:
    port = free_port()
    server = start_server(run, runtime, port, args.timeout)
    try:
        before = rss_mib(server.pid)
        results, wall = asyncio.run(load(port, args.conversations, args.utterances, args.timeout))
        after = rss_mib(server.pid)
    finally:
        stop(server)
    latencies = sorted(x for r in results for x in r["latencies"])
    received = sum(r["received"] for r in results)
    return {
        "runtime": runtime,
        "conversations": args.conversations,
        "utterances": args.utterances,
        "predictions": received,
        "lost": sum(r["sent"] - r["received"] for r in results),
        "reordered": sum(r["reordered"] for r in results),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        if latencies
        else float("nan"),
        "throughput": received / wall,
        "wall_s": wall,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "outcomes": sorted({r["outcome"] for r in results}),
    }


async def kill_midway(run: Path, runtime: str, args: argparse.Namespace) -> dict:
    """Stream, SIGKILL the server after ``kill_after`` s, see what clients got, restart."""
    port = free_port()
    server = start_server(run, runtime, port, args.timeout)
    dims = model_dims(port)
    task = asyncio.gather(*(converse(port, 1000 + s, args.utterances, args.timeout, dims)
                            for s in range(args.conversations)))  # fmt: skip
    await asyncio.sleep(args.kill_after)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    results = await asyncio.wait_for(task, args.timeout + 60)
    restarted = start_server(run, runtime, port, args.timeout)
    try:
        after = await converse(port, 7, 5, args.timeout, dims)
    finally:
        stop(restarted)
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    return {
        "runtime": runtime,
        "received_before_kill": sum(r["received"] for r in results),
        "reordered": sum(r["reordered"] for r in results),
        "client_outcomes": outcomes,
        "restarted_server": f"{after['received']}/5 predictions, {after['outcome']}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--runtimes", default="torch")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--utterances", type=int, default=100)
    parser.add_argument("--kill-after", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()
    run = args.run or train_run(Path("/tmp"))
    report = {"load": [], "kill": []}
    for runtime in args.runtimes.split(","):
        row = measure(run, runtime, args)
        report["load"].append(row)
        print(f"{runtime}: {row['conversations']} sockets x {row['utterances']} utterances: "
              f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
              f"{row['throughput']:.1f} predictions/s ({row['wall_s']:.1f} s), "
              f"lost {row['lost']}, reordered {row['reordered']}, "
              f"server RSS {row['rss_before_mib']:.0f} -> {row['rss_after_mib']:.0f} MiB, "
              f"outcomes {row['outcomes']}", flush=True)  # fmt: skip
        kill = asyncio.run(kill_midway(run, runtime, args))
        report["kill"].append(kill)
        print(f"{runtime}: SIGKILL after {args.kill_after:.0f} s: "
              f"{kill['received_before_kill']} predictions received before, reordered "
              f"{kill['reordered']}, clients saw {kill['client_outcomes']}; restarted server: "
              f"{kill['restarted_server']}", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
