"""What happens around the loop: model selection, checkpoints, metrics files, progress.

Each is a `Callback` on `TrainLoop`'s events; only these (through `CheckpointSaver` and
`RunFolder`) write files. Selection evaluates with the run's `Evaluator`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.progress import TextColumn

from iteach_app.progress import progress_bar
from iteach_app.training import distributed
from iteach_app.training.evaluation import Evaluator
from iteach_app.training.loop import Callback, TrainLoop, TrainState
from iteach_app.training.run_folder import SELECTION_METRIC, RunFolder, protocol_note
from iteach_app.training.saver import CheckpointSaver


class Selection(Callback):
    """UME of the student on the selection split (val, or test under the paper's protocol);
    a better average of the selection metric marks the epoch best and saves the model (never a
    pre-training epoch)."""

    def __init__(self, evaluator: Evaluator, saver: CheckpointSaver) -> None:
        self.evaluator, self.saver = evaluator, saver
        self.batches: list | None = None

    def split(self, loop: TrainLoop) -> str:
        """ "test" under the paper's protocol, else "val"."""
        return "test" if loop.config.selected_on_test else "val"

    def on_train_begin(self, loop: TrainLoop) -> None:
        self.batches = self.evaluator.batches(getattr(loop.data, self.split(loop)))

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        result = self.evaluator.ume(loop.model.student, self.batches or [])
        split, key = self.split(loop), SELECTION_METRIC[loop.data.task]
        record.update(
            selection_split=split,
            selection_metric=f"{key} (UME average)",
            selection_value=result.average[key],
        )
        for name, value in result.average.items():
            record[f"{split}_{name}_avg"] = value
        for rate, value in zip(result.rates, result.curve(key), strict=True):
            record[f"{split}_{key}@{rate:g}"] = value
        metric, state = record["selection_value"], loop.state
        improved = (
            not loop.phase.pretraining
            and not math.isnan(metric)
            and (state.best_metric is None or metric > state.best_metric)
        )
        record["best"] = improved
        if improved:
            state.best_metric, state.best_epoch = metric, state.epoch + 1
            self.saver.save_best(loop.model, state.best_epoch, state.best_metric)


class EarlyStopping(Callback):
    """Stops the loop once ``patience`` epochs have closed since the best selection score (or
    since the start, without one). Decided from the TrainState alone, so a resumed run that had
    stopped stops again at once; rank 0 decides for every rank."""

    def __init__(self, patience: int, say: Callable[[str], None]) -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1 epoch for early stopping; got {patience}")
        self.patience, self.say = patience, say

    def exhausted(self, state: TrainState) -> bool:
        """True when ``patience`` epochs have closed without a better score."""
        return state.epoch - (state.best_epoch or 0) >= self.patience

    def check(self, loop: TrainLoop) -> None:
        state = loop.state
        stop = loop.dist.is_main and self.exhausted(state)
        if distributed.broadcast_flag(loop.dist, stop, loop.device) and loop.stop_reason is None:
            reason = (
                f"early stopping after epoch {state.epoch}: no better selection score for "
                f"{self.patience} epochs (best epoch {state.best_epoch})"
            )
            loop.request_stop(reason)
            self.say(reason)

    def on_train_begin(self, loop: TrainLoop) -> None:
        self.check(loop)

    def on_epoch_closed(self, loop: TrainLoop) -> None:
        self.check(loop)


def current_lr(loop: TrainLoop) -> float:
    """The learning rate the last optimiser step used in the main parameter group (the one
    configured at ``config.lr``; a router's group runs at its own rate); before any step, the
    rate the first one will use."""
    groups = loop.optimizer.param_groups
    index = next((i for i, g in enumerate(groups) if g.get("base_lr") == loop.config.lr), 0)
    rates = loop.step_lrs or [g["lr"] for g in groups]
    return float(rates[index])


TIMING_KEYS = ("seconds", "eval_seconds")


def without_timing(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epoch records without their wall-clock fields: what a rerun (or a resumed run) of the
    same config reproduces exactly."""
    return [{k: v for k, v in record.items() if k not in TIMING_KEYS} for record in history]


class EpochClock(Callback):
    """Adds ``lr`` (at the epoch's last step), ``seconds`` (training steps of the epoch, in this
    process: a resumed epoch counts its remaining steps) and ``eval_seconds`` (the selection
    evaluation) to each epoch record. Goes first among the callbacks so that the evaluation it
    times runs between its two events."""

    def __init__(self) -> None:
        self.started = self.evaluating = 0.0

    def on_epoch_begin(self, loop: TrainLoop) -> None:
        self.started = time.perf_counter()

    def on_evaluate(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        self.evaluating = time.perf_counter()
        record.update(lr=current_lr(loop), seconds=round(self.evaluating - self.started, 3))

    def on_epoch_end(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        record["eval_seconds"] = round(time.perf_counter() - self.evaluating, 3)


class Checkpoints(Callback):
    """checkpoints/last every ``checkpoint_every`` steps (not at an epoch's end) and after each
    epoch, on rank 0: model, optimizer and TrainState, enough to resume exactly."""

    def __init__(self, saver: CheckpointSaver) -> None:
        self.saver = saver

    def save_last(self, loop: TrainLoop) -> None:
        if loop.dist.is_main:
            self.saver.save_last(loop.model, loop.optimizer, asdict(loop.state))

    def on_step_end(self, loop: TrainLoop) -> None:
        every, step = loop.config.checkpoint_every, loop.state.step
        if every and step % every == 0 and step < loop.num_batches:
            self.save_last(loop)

    def on_epoch_closed(self, loop: TrainLoop) -> None:
        self.save_last(loop)


class MetricsFiles(Callback):
    """metrics.json / metrics.csv rewritten after every epoch, once the epoch is closed (after
    `Checkpoints` saved last.safetensors): a folder holding an epoch's metrics always holds a
    checkpoint to resume from, whenever the process dies."""

    def __init__(self, folder: RunFolder, title: str) -> None:
        self.folder, self.title = folder, title

    def on_epoch_closed(self, loop: TrainLoop) -> None:
        if not loop.dist.is_main:
            return
        payload = {
            "run": self.title,
            "selected_on": loop.config.select_on,
            "selection_note": protocol_note(loop.config),
            "best_epoch": loop.state.best_epoch,
            "best_metric": loop.state.best_metric,
        }
        self.folder.write_metrics(payload, loop.state.history)


class StepHook(Callback):
    """Calls ``fn(state)`` after every step (tests interrupt a run with it)."""

    def __init__(self, fn: Callable[[TrainState], None]) -> None:
        self.fn = fn

    def on_step_end(self, loop: TrainLoop) -> None:
        self.fn(loop.state)


class ProgressDisplay(Callback):
    """Progress bars (epochs, steps) and one line per epoch on ``console``; silent if not shown."""

    def __init__(self, console: Console, shown: bool) -> None:
        self.console, self.shown = console, shown
        self.progress = progress_bar(shown, console, TextColumn("{task.fields[loss]}"))
        self.epochs_task: Any = None
        self.steps_task: Any = None

    def say(self, text: str) -> None:
        if self.shown:
            self.console.print(text)

    def on_train_begin(self, loop: TrainLoop) -> None:
        self.progress.start()
        self.epochs_task = self.progress.add_task("epochs", total=loop.config.epochs, loss="")
        self.progress.update(self.epochs_task, completed=loop.state.epoch)

    def on_epoch_begin(self, loop: TrainLoop) -> None:
        self.steps_task = self.progress.add_task(
            f"epoch {loop.state.epoch + 1}", total=loop.num_batches, loss=""
        )
        self.progress.update(self.steps_task, completed=loop.state.step)

    def on_step_end(self, loop: TrainLoop) -> None:
        sums = loop.state.sums
        loss = f"loss {sums['loss'] / sums['steps']:.4f}" if sums.get("steps") else ""
        self.progress.update(self.steps_task, completed=loop.state.step, loss=loss)

    def on_epoch_end(self, loop: TrainLoop, record: dict[str, Any]) -> None:
        star = " *" if record["best"] else ""
        self.say(
            f"epoch {record['epoch']:>3}/{loop.config.epochs}"
            f"  loss {record.get('train_loss', 0):.4f}"
            f"  distill {record.get('train_distill_loss', 0):.4f}  "
            f"{record['selection_split']} {record['selection_metric']} "
            f"{record['selection_value']:.4f}{star}"
        )

    def on_epoch_closed(self, loop: TrainLoop) -> None:
        self.progress.remove_task(self.steps_task)
        self.progress.update(self.epochs_task, completed=loop.state.epoch)

    def on_train_end(self, loop: TrainLoop) -> None:
        self.progress.stop()
