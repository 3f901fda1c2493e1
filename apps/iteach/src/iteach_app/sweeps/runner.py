"""Run a sweep: plan every point of the grid, skip the runs already finished (by config hash),
run the others on a launcher, retry each failed run once, and keep a ledger of every attempt.

A sweep folder holds ``runs/<config hash>/`` (each a normal `train` run folder), ``plan.json``
(hash, axis values and folder of every run), ``ledger.jsonl`` (one line per attempt, across
invocations: when, hash, attempt, ok, seconds, error) and ``summary.md`` / ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iteach_app.io import atomic_write_text
from iteach_app.sweeps.spec import SweepRun, SweepSpec
from iteach_app.sweeps.worker import RunOutcome, RunTask, with_threads
from iteach_app.training.run_folder import RunFolder


class Launcher(Protocol):
    """Runs tasks somewhere; yields each with its outcome as it finishes."""

    name: str

    def run(self, tasks: list[RunTask]) -> Any: ...


@dataclass(frozen=True)
class SweepFolder:
    """The file names of a sweep folder."""

    path: Path

    def run_dir(self, run: SweepRun) -> Path:
        return self.path / "runs" / run.config_hash

    @property
    def plan(self) -> Path:
        return self.path / "plan.json"

    @property
    def ledger(self) -> Path:
        return self.path / "ledger.jsonl"

    def summary(self, ext: str) -> Path:
        return self.path / f"summary.{ext}"

    def read_ledger(self) -> list[dict[str, Any]]:
        if not self.ledger.is_file():
            return []
        lines = self.ledger.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def append_ledger(self, entry: dict[str, Any]) -> None:
        lines = [json.dumps(e) for e in self.read_ledger()] + [json.dumps(entry)]
        atomic_write_text(self.ledger, "\n".join(lines) + "\n")


@dataclass
class SweepReport:
    """What one invocation did: runs planned, skipped as finished, trained, failed for good."""

    planned: int
    skipped: int
    succeeded: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[RunOutcome] = field(default_factory=list)
    seconds: float = 0.0


def run_sweep(
    spec: SweepSpec,
    launcher: Launcher,
    out: str | Path,
    *,
    cpus_per_run: int = 1,
    say: Callable[[str], None] = print,
) -> SweepReport:
    """Train every unfinished run of ``spec`` into ``out``; a failed run is retried once."""
    started = time.perf_counter()
    folder = SweepFolder(Path(out).absolute())
    runs = spec.runs()
    write_plan(folder, spec, runs)
    todo = [run for run in runs if not finished(folder, run)]
    report = SweepReport(planned=len(runs), skipped=len(runs) - len(todo))
    say(
        f"{len(runs)} runs in the grid: {report.skipped} finished already (skipped), "
        f"{len(todo)} to train on {launcher.name}"
    )
    tasks = [
        RunTask(with_threads(run.config, cpus_per_run), str(folder.run_dir(run)), run.values)
        for run in todo
    ]
    for attempt in (1, 2):
        failed = []
        for task, outcome in launcher.run(tasks):
            folder.append_ledger(
                {
                    "time": time.time(),
                    "launcher": launcher.name,
                    "values": task.values,
                    **dataclasses.asdict(outcome),
                }
            )
            state = "done" if outcome.ok else f"FAILED ({outcome.error})"
            say(f"[attempt {attempt}] {_label(task.values)}: {state}, {outcome.seconds:.0f} s")
            if outcome.ok:
                report.succeeded.append(outcome.config_hash)
            else:
                failed.append((task, outcome))
        if not failed:
            break
        if attempt == 1:
            say(f"retrying {len(failed)} failed run(s) once")
            report.retried = [task.config_hash for task, _ in failed]
            tasks = [dataclasses.replace(task, attempt=2) for task, _ in failed]
        else:
            report.failed = [outcome for _, outcome in failed]
    report.seconds = time.perf_counter() - started
    return report


def finished(folder: SweepFolder, run: SweepRun) -> bool:
    """The run's folder holds a final result written for this very config."""
    return RunFolder(folder.run_dir(run)).finished_hash() == run.config_hash


def write_plan(folder: SweepFolder, spec: SweepSpec, runs: list[SweepRun]) -> None:
    payload = {
        "sweep_file": str(spec.path),
        "axes": spec.axes,
        "compare": {"axis": spec.compare_axis, "reference": spec.compare_reference},
        "runs": [
            {"config_hash": r.config_hash, "values": r.values, "run_dir": str(folder.run_dir(r))}
            for r in runs
        ],
    }
    atomic_write_text(folder.plan, json.dumps(payload, indent=2) + "\n")


def _label(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())
