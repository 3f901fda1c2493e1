"""`tune`: the [search] space checked against the schema, validation-only objective with median
pruning, a study killed and resumed from its SQLite database, best.toml that train takes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tomli_w

from iteach_app.config import ConfigError, load_toml, resolve
from iteach_app.sweeps.spec import load_sweep
from tests.iteach.conftest import TINY

needs_optuna = pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna not installed ([tune] extra)"
)


def write_search(path: Path, search: dict[str, Any], **base: Any) -> Path:
    path.write_text(tomli_w.dumps({"base": {**TINY, **base}, "search": search}))
    return path


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"dropout": {"type": "float", "low": 0.1, "high": 1.5}}, "[search] dropout = 1.5"),
        ({"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}, "log scale needs low"),
        ({"lr": {"type": "float", "low": 0.1, "high": 0.01}}, "must be below high"),
        ({"lr": {"type": "float"}}, "give high"),
        ({"epochz": {"type": "int", "low": 1, "high": 3}}, "[search] epochz: unknown setting"),
        ({"window": {"type": "categorical", "choices": [3, 4]}}, "[search] window = 4"),
        ({"lr": {"type": "normal"}}, "type = one of float, int, categorical"),
        ({"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "q": 2}}, "unknown key(s) q"),
        ({"student_layers": {"type": "int", "low": 1.5, "high": 3}}, "whole number"),
    ],
)
def test_bad_search_space_is_rejected_naming_the_setting(
    tmp_path: Path, search: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sweep(write_search(tmp_path / "t.toml", search), need_axes=False)
    assert message in str(caught.value)


def test_schema_bounds_fill_a_missing_end(tmp_path: Path) -> None:
    spec = load_sweep(
        write_search(tmp_path / "t.toml", {"dropout": {"type": "float", "high": 0.5}}),
        need_axes=False,
    )
    assert (spec.search["dropout"].low, spec.search["dropout"].high) == (0.0, 0.5)
    spec = load_sweep(
        write_search(tmp_path / "u.toml", {"label_smoothing": {"type": "float", "low": 0.05}}),
        need_axes=False,
    )
    assert spec.search["label_smoothing"].high == pytest.approx(1 - 1e-6)


@needs_optuna
def test_pruning_reports_each_epoch_and_prunes() -> None:
    import optuna

    from iteach_app.sweeps.tune import ReportToTrial

    reported: list = []
    trial = SimpleNamespace(
        report=lambda value, step: reported.append((step, value)),
        should_prune=lambda: len(reported) >= 2,
    )
    callback = ReportToTrial(trial, optuna)
    callback.on_evaluate(None, {"epoch": 1, "selection_value": 0.4})
    with pytest.raises(optuna.TrialPruned, match="epoch 2"):
        callback.on_evaluate(None, {"epoch": 2, "selection_value": 0.3})
    assert reported == [(1, 0.4), (2, 0.3)]


@needs_optuna
def test_tune_refuses_test_selection(tmp_path: Path) -> None:
    from iteach_app.sweeps.tune import tune

    path = write_search(
        tmp_path / "t.toml", {"lr": {"type": "float", "low": 1e-4, "high": 1e-2}}, select_on="test"
    )
    with pytest.raises(ConfigError, match="validation score only"):
        tune(load_sweep(path, need_axes=False), tmp_path / "out", trials=1, say=lambda _: None)


@needs_optuna
def test_a_killed_study_resumes_and_writes_a_config_train_takes(tmp_path: Path) -> None:
    import optuna

    from iteach_app.sweeps.tune import tune

    search = {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "dropout": {"type": "categorical", "choices": [0.0, 0.2]},
    }
    spec = load_sweep(write_search(tmp_path / "t.toml", search, epochs=2), need_axes=False)
    out = tmp_path / "study"
    first = tune(spec, out, trials=1, say=lambda _: None)
    assert (first.ran, first.resumed_from) == (1, 0)
    storage = f"sqlite:///{(out / 'study.db').resolve()}"
    study = optuna.load_study(study_name="t", storage=storage)
    study.ask()  # a trial a killed process left running
    lines: list[str] = []
    second = tune(spec, out, trials=3, say=lines.append)
    assert (second.ran, second.resumed_from) == (2, 1)
    assert any("left running" in line for line in lines)
    states = [t.state for t in second.study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    finished = [t for t in second.study.trials if t.state != optuna.trial.TrialState.FAIL]
    assert len(finished) == 3
    assert len({t.params["lr"] for t in finished}) == 3  # the resumed sampler drew new points
    for t in finished:
        assert Path(t.user_attrs["run_dir"]).is_dir()
    best = second.study.best_trial
    values = load_toml(second.best_path)
    config = resolve(values, source="best.toml")
    assert config.lr == pytest.approx(best.params["lr"])
    assert config.dropout == best.params["dropout"]
    assert config.hidden_dim == TINY["hidden_dim"]
    assert config.epochs == 2
    assert "| trial |" in (out / "trials.md").read_text()


@needs_optuna
def test_cli_tune_needs_a_search_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from iteach_app.cli import app

    path = tmp_path / "t.toml"
    path.write_text(tomli_w.dumps({"base": TINY}))
    result = CliRunner().invoke(app, ["tune", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "[search] is empty" in result.output
