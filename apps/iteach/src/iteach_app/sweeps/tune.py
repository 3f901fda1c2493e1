"""Tuning on the validation split: an Optuna study (TPE sampler, median pruning) over the
``[search]`` space of a sweep file, on top of its ``[base]`` settings.

Each trial is a normal run folder (``trials/<config hash>``); its objective is the best
validation score of the run (the UME average of the selection metric that picks its epoch),
reported epoch by epoch so that a trial below the median of earlier trials at the same epoch is
pruned (from the first epoch on, once two trials have finished: a short budget gains most from
stopping early). The test split never enters the objective. The study lives in a database (SQLite by
default, in the output folder), so a killed study resumes where it stopped: finished trials
count towards ``--trials``, a trial the kill left running is marked failed, and the sampler is
seeded past the trials already drawn so it does not draw the same points again. One process
works on a study at a time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iteach_app.config import ConfigError, TrainConfig, to_toml
from iteach_app.io import atomic_write_text
from iteach_app.sweeps.spec import SearchDim, SweepSpec
from iteach_app.sweeps.worker import with_threads
from iteach_app.training.loop import Callback, TrainLoop
from iteach_app.training.run_folder import RunFolder


def require_optuna() -> Any:
    """The optuna module; missing, an error naming the extra."""
    try:
        return importlib.import_module("optuna")
    except ImportError:
        raise ConfigError("tune needs the optuna package: pip install 'iteach-app[tune]'") from None


class ReportToTrial(Callback):
    """Reports each epoch's validation score to the trial; prunes when the pruner says so."""

    def __init__(self, trial: Any, optuna: Any) -> None:
        self.trial, self.optuna = trial, optuna

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        self.trial.report(record["selection_value"], step=record["epoch"])
        if self.trial.should_prune():
            raise self.optuna.TrialPruned(f"pruned at epoch {record['epoch']}")


@dataclass
class TuneResult:
    """The study, the best trial's config and where it was written."""

    study: Any
    best: TrainConfig
    best_path: Path
    ran: int
    resumed_from: int


def suggest(trial: Any, dim: SearchDim) -> Any:
    """One value of ``dim`` drawn by the trial."""
    if dim.kind == "categorical":
        return trial.suggest_categorical(dim.name, list(dim.choices))
    if dim.kind == "int":
        step = int(dim.step or 1)
        return trial.suggest_int(dim.name, int(dim.low), int(dim.high), step=step, log=dim.log)
    return trial.suggest_float(dim.name, dim.low, dim.high, step=dim.step, log=dim.log)


def tune(
    spec: SweepSpec,
    out: str | Path,
    *,
    trials: int,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    cpus_per_run: int = 1,
    say: Callable[[str], None] = print,
) -> TuneResult:
    """Run the study until ``trials`` trials have completed or been pruned; write best.toml."""
    optuna = require_optuna()
    if not spec.search:
        raise ConfigError(f"{spec.path}: [search] is empty; give the settings to tune")
    base = spec.resolve({}, "[base]")
    if base.selected_on_test:
        raise ConfigError(
            f"{spec.path}: [base] select_on = test; tuning optimises the validation score only"
        )
    if trials < 1:
        raise ConfigError(f"--trials must be >= 1; got {trials}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study_name = study_name or spec.path.stem
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    states = optuna.trial.TrialState
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    for stale in study.get_trials(deepcopy=False, states=(states.RUNNING,)):
        study.tell(stale.number, state=states.FAIL)
        say(f"trial {stale.number} was left running by a stopped process: marked failed")
    drawn = len(study.trials)  # seeded past them: a resumed study draws new points
    study.sampler = optuna.samplers.TPESampler(
        seed=seed + drawn, n_startup_trials=min(10, max(2, trials // 3))
    )
    counted = (states.COMPLETE, states.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=counted))
    remaining = max(trials - done, 0)
    say(f"study {study_name!r} in {storage}: {done} trial(s) done, {remaining} to run")

    def objective(trial: Any) -> float:
        from iteach_app.report.labels import figure_title
        from iteach_app.training.trainer import Trainer

        values = {name: suggest(trial, dim) for name, dim in spec.search.items()}
        config = with_threads(spec.resolve(values, f"trial {trial.number}"), cpus_per_run)
        run_dir = out / "trials" / config.config_hash()
        trial.set_user_attr("run_dir", str(run_dir))
        callbacks = [ReportToTrial(trial, optuna)]
        trainer = Trainer(
            config,
            run_dir,
            resume=True,
            verbose=False,
            callbacks=callbacks,
            title=figure_title(config),
        )
        result = trainer.fit()
        say(f"trial {trial.number}: {values} -> validation {result.best_metric:.4f}")
        return float(result.best_metric)

    def on_pruned(study: Any, trial: Any) -> None:
        if trial.state == states.PRUNED:
            say(f"trial {trial.number}: {trial.params} pruned at epoch {trial.last_step}")

    study.optimize(objective, n_trials=remaining, callbacks=[on_pruned])
    best = best_config(spec, study.best_trial.params, base)
    best_path = out / "best.toml"
    note = (
        f"# best of study {study_name!r} (trial {study.best_trial.number}, validation "
        f"{study.best_value:.4f}); from {spec.path}\n"
    )
    atomic_write_text(best_path, note + to_toml(best))
    write_trials(study, out / "trials.md", states)
    return TuneResult(study, best, best_path, remaining, done)


def best_config(spec: SweepSpec, params: dict[str, Any], base: TrainConfig) -> TrainConfig:
    """The base settings with the best trial's values (run settings as in [base])."""
    config = spec.resolve(params, "best trial")
    return with_threads(config, base.threads) if base.threads else config


def write_trials(study: Any, path: Path, states: Any) -> None:
    """A markdown table of every trial: number, state, values, validation score, run folder."""
    names = sorted({k for t in study.trials for k in t.params})
    lines = [
        "| trial | state | " + " | ".join(names) + " | validation | run folder |",
        "|---:|---|" + "---|" * len(names) + "---:|---|",
    ]
    for t in study.trials:
        value = f"{t.value:.4f}" if t.state == states.COMPLETE else "-"
        if t.state == states.PRUNED and t.intermediate_values:
            value = f"({t.intermediate_values[t.last_step]:.4f} at epoch {t.last_step})"
        cells = [str(t.number), t.state.name.lower(), *(repr(t.params.get(n)) for n in names)]
        cells += [value, RunFolder(t.user_attrs.get("run_dir", "-")).name]
        lines.append("| " + " | ".join(cells) + " |")
    atomic_write_text(path, "\n".join(lines) + "\n")
