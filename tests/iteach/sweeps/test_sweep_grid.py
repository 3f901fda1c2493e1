"""`sweep grid`: a grid file expanded and checked before any run, runs skipped when finished,
a failed run retried once while the others go on, one summary table, the Ray and Slurm
launchers giving the local numbers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.config import ConfigError
from iteach_app.sweeps import aggregate, worker
from iteach_app.sweeps.launchers import LocalLauncher, Resources, job_parameters, require
from iteach_app.sweeps.runner import SweepFolder, run_sweep
from iteach_app.sweeps.spec import load_sweep
from tests.iteach.conftest import TINY


def write_sweep(path: Path, axes: dict[str, Any], **tables: Any) -> Path:
    base = {**TINY, "epochs": 1}
    path.write_text(tomli_w.dumps({"base": base, "axes": axes, **tables}))
    return path


def test_grid_crosses_every_axis_in_file_order(tmp_path: Path) -> None:
    spec = load_sweep(
        write_sweep(tmp_path / "s.toml", {"framework": ["its", "pre"], "seed": [0, 1, 2]})
    )
    runs = spec.runs()
    assert [r.values for r in runs][:3] == [
        {"framework": "its", "seed": 0},
        {"framework": "its", "seed": 1},
        {"framework": "its", "seed": 2},
    ]
    assert len(runs) == 6
    assert len({r.config_hash for r in runs}) == 6
    assert all(r.config.framework == r.values["framework"] for r in runs)
    assert all(r.config.seed == r.values["seed"] for r in runs)
    assert all(r.config.hidden_dim == TINY["hidden_dim"] for r in runs)
    assert spec.setting_axes == ["framework"]


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({"epoch": [1, 2]}, "[axes] epoch: unknown setting"),
        ({"dropout": [0.1, 1.5]}, "[axes] dropout = 1.5"),
        ({"framework": ["its", "student"]}, "[axes] framework = 'student'"),
        ({"seed": []}, "[axes] seed must be a non-empty list"),
        ({"seed": 3}, "[axes] seed must be a non-empty list"),
        ({"device": ["cpu", "cuda"]}, "[axes] device does not change what a run computes"),
        ({"epochs": [1, 1]}, "computes the same run"),
    ],
)
def test_bad_axis_is_rejected_naming_it(tmp_path: Path, axes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sweep(write_sweep(tmp_path / "s.toml", axes))
    assert message in str(caught.value)
    assert "s.toml" in str(caught.value)


def test_bad_tables_are_rejected(tmp_path: Path) -> None:
    path = write_sweep(tmp_path / "s.toml", {"seed": [0]}, grid={"x": 1})
    with pytest.raises(ConfigError, match=r"unknown table\(s\) grid"):
        load_sweep(path)
    path = write_sweep(
        tmp_path / "c.toml", {"seed": [0, 1]}, compare={"axis": "framework", "reference": "pre"}
    )
    with pytest.raises(ConfigError, match="not one of the \\[axes\\]"):
        load_sweep(path)
    path = write_sweep(
        tmp_path / "r.toml",
        {"framework": ["its", "ts"]},
        compare={"axis": "framework", "reference": "pre"},
    )
    with pytest.raises(ConfigError, match="reference 'pre' is not a value"):
        load_sweep(path)


def test_missing_launcher_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(ConfigError, match=r"pip install 'iteach-app\[ray\]'"):
        require("ray")
    with pytest.raises(ConfigError, match=r"pip install 'iteach-app\[slurm\]'"):
        require("slurm")
    with pytest.raises(ConfigError, match="--launcher must be one of"):
        require("kubernetes")


def test_cli_rejects_a_bad_grid_before_any_run(tmp_path: Path) -> None:
    path = write_sweep(tmp_path / "s.toml", {"seed": [0, 1], "window": [3, 4]})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", "grid", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "[axes] window = 4" in result.output
    assert "odd" in result.output
    assert not out.exists()


class StopAfter:
    """A local launcher that is 'killed' after ``count`` finished runs."""

    name = "local"

    def __init__(self, count: int) -> None:
        self.count = count

    def run(self, tasks: list) -> Any:
        for index, pair in enumerate(LocalLauncher(1).run(tasks)):
            yield pair
            if index + 1 == self.count:
                raise KeyboardInterrupt


def test_a_killed_sweep_resumes_without_repeating_a_run(tmp_path: Path) -> None:
    spec = load_sweep(
        write_sweep(tmp_path / "s.toml", {"framework": ["its", "pre"], "seed": [0, 1]})
    )
    out = tmp_path / "sweep"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, StopAfter(2), out, say=lambda _: None)
    folder = SweepFolder(out)
    first = {e["config_hash"] for e in folder.read_ledger()}
    assert len(first) == 2
    stamps = {h: (out / "runs" / h / "ume.json").stat().st_mtime_ns for h in first}
    report = run_sweep(spec, LocalLauncher(1), out, say=lambda _: None)
    assert (report.planned, report.skipped, len(report.succeeded)) == (4, 2, 2)
    assert not set(report.succeeded) & first
    ledger = folder.read_ledger()
    assert sorted(e["config_hash"] for e in ledger) == sorted(r.config_hash for r in spec.runs())
    assert all((out / "runs" / h / "ume.json").stat().st_mtime_ns == t for h, t in stamps.items())
    again = run_sweep(spec, LocalLauncher(1), out, say=lambda _: None)
    assert (again.skipped, again.succeeded) == (4, [])


def test_a_failed_run_is_retried_once_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_sweep(write_sweep(tmp_path / "s.toml", {"seed": [0, 1, 2]}))
    flaky, broken = (r.config_hash for r in spec.runs()[:2])
    calls: dict[str, int] = {}
    real = worker.train_run

    def train_run(config: Any, run_dir: Path) -> int | None:
        key = config.config_hash()
        calls[key] = calls.get(key, 0) + 1
        if key == broken or (key == flaky and calls[key] == 1):
            raise RuntimeError(f"planted failure {calls[key]}")
        return real(config, run_dir)

    monkeypatch.setattr(worker, "train_run", train_run)
    out = tmp_path / "sweep"
    report = run_sweep(spec, LocalLauncher(1), out, say=lambda _: None)
    assert sorted(report.retried) == sorted([flaky, broken])
    assert [o.config_hash for o in report.failed] == [broken]
    assert "planted failure 2" in report.failed[0].error
    assert sorted(report.succeeded) == sorted([spec.runs()[2].config_hash, flaky])
    assert calls == {flaky: 2, broken: 2, spec.runs()[2].config_hash: 1}
    attempts = [(e["config_hash"], e["attempt"], e["ok"]) for e in SweepFolder(out).read_ledger()]
    assert (broken, 2, False) in attempts
    assert (flaky, 2, True) in attempts
    text = aggregate.write_summary(spec, SweepFolder(out), report.planned)
    assert "2 of 3 runs finished" in text


def test_summary_pairs_each_value_with_the_reference(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path / "s.toml",
        {"framework": ["its", "pre"], "seed": [0, 1]},
        compare={"axis": "framework", "reference": "pre"},
    )
    spec = load_sweep(path)
    out = tmp_path / "sweep"
    run_sweep(spec, LocalLauncher(1), out, say=lambda _: None)
    folder = SweepFolder(out)
    text = aggregate.write_summary(spec, folder, 4)
    scores = {(s.values["framework"], s.values["seed"]): s for s in aggregate.collect(spec, folder)}
    its = [scores["its", s].average for s in (0, 1)]
    pre = [scores["pre", s].average for s in (0, 1)]
    assert f"{(its[0] + its[1]) / 2:.4f} ± " in text
    (row,) = aggregate.paired_rows(spec, list(scores.values()))
    assert row["comparison"] == "framework its − pre"
    assert row["average"]["pairs"] == 2
    assert row["average"]["mean"] == pytest.approx((its[0] - pre[0] + its[1] - pre[1]) / 2)
    summary = json.loads(folder.summary("json").read_text())
    assert len(summary["runs"]) == 4
    assert summary["paired"][0]["comparison"] == row["comparison"]


def test_paired_bootstrap_against_a_direct_computation() -> None:
    import random

    rng = random.Random(3)
    a = [rng.random() for _ in range(12)]
    b = [x - 0.1 + rng.gauss(0, 0.01) for x in a]
    stats = aggregate.paired_bootstrap(a, b, resamples=2000)
    diffs = [x - y for x, y in zip(a, b, strict=False)]
    assert stats.mean == pytest.approx(sum(diffs) / len(diffs))
    assert stats.low <= stats.mean <= stats.high
    assert min(diffs) <= stats.low
    assert stats.high <= max(diffs)
    assert stats.wins == sum(d > 0 for d in diffs) == 12
    constant = aggregate.paired_bootstrap([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert (constant.low, constant.mean, constant.high) == pytest.approx((0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="equal, non-empty"):
        aggregate.paired_bootstrap([1.0], [])


def _averages(out: Path) -> dict[str, list]:
    return {
        p.parent.name: json.loads(p.read_text())["per_rate"]
        for p in (out / "runs").glob("*/ume.json")
    }


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray not installed ([ray] extra)"
)
def test_ray_launcher_gives_the_local_numbers(tmp_path: Path) -> None:
    import ray

    from iteach_app.sweeps.launchers import RayLauncher

    spec = load_sweep(write_sweep(tmp_path / "s.toml", {"seed": [0, 1]}))
    run_sweep(spec, LocalLauncher(1), tmp_path / "local", say=lambda _: None)
    try:
        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    except Exception as err:  # Ray's fixed 30 s node start-up wait, on an overloaded machine
        if "timed out during startup" not in str(err):
            raise
        ray.shutdown()
        pytest.skip(f"Ray could not start a local node here: {err}")
    try:
        report = run_sweep(
            spec, RayLauncher(None, Resources(1)), tmp_path / "ray", say=lambda _: None
        )
    finally:
        ray.shutdown()
    assert len(report.succeeded) == 2
    assert not report.failed
    assert _averages(tmp_path / "ray") == _averages(tmp_path / "local")


@pytest.mark.skipif(
    importlib.util.find_spec("submitit") is None, reason="submitit not installed ([slurm] extra)"
)
def test_slurm_launcher_runs_each_run_as_a_submitit_job(tmp_path: Path) -> None:
    from iteach_app.sweeps.launchers import SlurmLauncher

    spec = load_sweep(write_sweep(tmp_path / "s.toml", {"seed": [0]}))
    run_sweep(spec, LocalLauncher(1), tmp_path / "local", say=lambda _: None)
    launcher = SlurmLauncher(tmp_path / "jobs", Resources(1), cluster="debug", poll_s=0.01)
    report = run_sweep(spec, launcher, tmp_path / "slurm", say=lambda _: None)
    assert len(report.succeeded) == 1
    assert not report.failed
    assert _averages(tmp_path / "slurm") == _averages(tmp_path / "local")


def test_slurm_job_spec() -> None:
    params = job_parameters(Resources(cpus=4, gpus=1), "gpu", 90)
    assert params == {
        "name": "iteach-sweep",
        "timeout_min": 90,
        "nodes": 1,
        "tasks_per_node": 1,
        "cpus_per_task": 4,
        "gpus_per_node": 1,
        "slurm_partition": "gpu",
    }
    assert "gpus_per_node" not in job_parameters(Resources(cpus=1), None, 10)
    with pytest.raises(ConfigError, match="--slurm-time"):
        job_parameters(Resources(), None, 0)


def test_cli_grid_runs_then_skips_everything(tmp_path: Path) -> None:
    path = write_sweep(tmp_path / "s.toml", {"seed": [0, 1]})
    out = tmp_path / "out"
    args = ["sweep", "grid", str(path), "--out", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 runs: 0 skipped (finished before), 2 trained now" in first.output
    assert "| 2 |" in (out / "summary.md").read_text()
    second = CliRunner().invoke(app, args)
    assert "2 runs: 2 skipped (finished before), 0 trained now" in second.output
