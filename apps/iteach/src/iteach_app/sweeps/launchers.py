"""Where a sweep's runs execute: this machine (``local``, a pool of ``jobs`` processes), a Ray
cluster (``ray``, one task per run) or Slurm (``slurm``, one submitit job per run). Each takes a
list of `RunTask`s and yields ``(task, outcome)`` as runs finish; a run that raises, or a worker
that dies, becomes a failed outcome, never an exception, so the other runs go on.

Ray and submitit are optional: asking for a launcher whose package is missing is an error that
names the extra to install, raised before any run starts.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from iteach_app.config import ConfigError
from iteach_app.sweeps.worker import RunOutcome, RunTask, failure, run_task

LAUNCHERS = ("local", "ray", "slurm")
EXTRAS = {"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}


def require(launcher: str) -> ModuleType | None:
    """The launcher's package (None for local); missing, an error naming the extra."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"--launcher must be one of {', '.join(LAUNCHERS)}; got {launcher!r}")
    if launcher == "local":
        return None
    module, extra = EXTRAS[launcher]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"--launcher {launcher} needs the {module} package: pip install 'iteach-app[{extra}]'"
        ) from None


@dataclass
class Resources:
    """What each run gets: CPUs (= its torch threads) and GPUs (Ray, Slurm)."""

    cpus: int = 1
    gpus: float = 0.0


class LocalLauncher:
    """``jobs`` runs at a time on this machine in a pool of spawned processes (each run seeds
    everything it draws from its config, so a process's earlier runs do not change it);
    ``jobs=1`` runs them one after another in this process."""

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be >= 1; got {jobs}")
        self.jobs = jobs

    def run(self, tasks: Sequence[RunTask]) -> Iterator[tuple[RunTask, RunOutcome]]:
        if self.jobs == 1:
            for task in tasks:
                yield task, run_task(task)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.jobs, mp_context=context) as pool:
            futures: dict[Future, RunTask] = {pool.submit(run_task, t): t for t in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as err:  # the worker process died
                    yield task, failure(task, err)


class RayLauncher:
    """One Ray task per run on the cluster at ``address`` (``auto``: the running one; None: the
    one this machine runs, or a new local one), with ``resources`` per task."""

    name = "ray"

    def __init__(self, address: str | None, resources: Resources, ray: Any = None) -> None:
        self.ray = ray or require("ray")
        self.address, self.resources = address, resources

    def run(self, tasks: Sequence[RunTask]) -> Iterator[tuple[RunTask, RunOutcome]]:
        ray = self.ray
        env = {"OMP_NUM_THREADS": str(self.resources.cpus)}
        if os.environ.get("PYTHONPATH"):  # a source checkout: the workers import the same code
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(
                address=self.address,
                runtime_env={"env_vars": env},
                log_to_driver=False,
            )
        remote = ray.remote(
            num_cpus=self.resources.cpus, num_gpus=self.resources.gpus, max_retries=0
        )(run_task)
        pending = {remote.remote(task): task for task in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                try:
                    yield task, ray.get(done[0])
                except Exception as err:  # the task's worker died
                    yield task, failure(task, err)
        finally:
            if started_here:
                ray.shutdown()


class SlurmLauncher:
    """One submitit job per run: on Slurm when it is there (``cluster`` None), else submitit's
    ``local`` executor; ``debug`` runs the jobs in this process (for tests)."""

    name = "slurm"

    def __init__(
        self,
        folder: Path,
        resources: Resources,
        *,
        partition: str | None = None,
        time_min: int = 120,
        cluster: str | None = None,
        poll_s: float = 5.0,
    ) -> None:
        submitit = require("slurm")
        assert submitit is not None
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        self.executor.update_parameters(**job_parameters(resources, partition, time_min))
        self.poll_s = poll_s

    def run(self, tasks: Sequence[RunTask]) -> Iterator[tuple[RunTask, RunOutcome]]:
        pending = [(self.executor.submit(run_task, task), task) for task in tasks]
        while pending:
            still = []
            for job, task in pending:
                if not job.done():
                    still.append((job, task))
                    continue
                try:
                    yield task, job.result()
                except Exception as err:  # the job failed outside the run (node, time limit)
                    yield task, failure(task, err)
            pending = still
            if pending:
                time.sleep(self.poll_s)


def job_parameters(resources: Resources, partition: str | None, time_min: int) -> dict[str, Any]:
    """submitit's parameters of one run's job: one task, its CPUs and GPUs, its time limit."""
    if time_min < 1:
        raise ConfigError(f"--slurm-time must be >= 1 minute; got {time_min}")
    params: dict[str, Any] = {
        "name": "iteach-sweep",
        "timeout_min": time_min,
        "nodes": 1,
        "tasks_per_node": 1,
        "cpus_per_task": resources.cpus,
    }
    if resources.gpus:
        params["gpus_per_node"] = math.ceil(resources.gpus)
    if partition:
        params["slurm_partition"] = partition
    return params
