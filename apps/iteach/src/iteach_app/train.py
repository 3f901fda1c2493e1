"""The Trainer: ITS training, per-epoch selection, checkpoints, exact resume, final UME.

Determinism: the per-epoch order of the training conversations comes from (seed, epoch); every
step seeds torch's global RNG (dropout) and its own mask generator from (seed, epoch, step, rank);
evaluation uses fixed masks. A resumed run therefore redoes exactly what was lost: it loads the
last checkpoint (model, optimizer, epoch, step within the epoch, running sums, best so far,
history) and skips the batches already done.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from iteach_app import distributed as dist_utils
from iteach_app.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_model,
    restore_optimizer,
    save_checkpoint,
)
from iteach_app.config import TrainConfig, write_config
from iteach_app.data import DataBundle, build_splits, chunks, collate, epoch_order, fixed_batches
from iteach_app.distributed import DistInfo
from iteach_app.evaluate import (
    BEST,
    LAST,
    SELECTION_METRIC,
    evaluate_student,
    protocol_note,
    write_ume,
)
from iteach_app.framework import build_framework, build_optimizer
from iteach_app.io import atomic_write_text
from iteach_app.model import count_parameters
from iteach_app.step import step_output
from missing_modality import ModalityMasker, UMEResult, parse_schedule

LOSS_KEYS = ("loss", "task_loss", "distill_loss", "student_loss", "teacher_loss", "rate")


@dataclass
class TrainState:
    """Where training stands: epoch in progress, batches done in it, running sums, best so far."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    best_metric: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunResult:
    """The outcome of a finished run."""

    run_dir: Path
    config: TrainConfig
    ume: UMEResult | None
    best_epoch: int | None
    best_metric: float | None
    history: list[dict[str, Any]]


StepCallback = Callable[[TrainState], None]


class Trainer:
    """Train one run into ``run_dir`` (created and filled on rank 0).

    ``resume=True`` continues from ``run_dir/checkpoints/last.safetensors`` where it exists.
    ``on_step`` is called after every optimizer step (and its checkpoint, if one was due) with the
    current state; tests use it to interrupt a run. ``verbose`` shows progress bars and epoch lines.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        data: DataBundle | None = None,
        resume: bool = False,
        dist_info: DistInfo | None = None,
        verbose: bool = True,
        on_step: StepCallback | None = None,
        console: Console | None = None,
        title: str | None = None,
    ) -> None:
        self.config = config.validate()
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.run_dir = Path(run_dir)
        self.dist = dist_info or DistInfo()
        self.verbose = verbose and self.dist.is_main
        self.on_step = on_step
        self.console = console or Console(stderr=True, quiet=not self.verbose)
        self.title = title or self.run_dir.name
        self.device = dist_utils.device_for(config.device, self.dist)
        self.data = data if data is not None else build_splits(config)
        self.model = build_framework(
            config, self.data.modality_dims, self.data.out_dim, self.data.task
        ).to(self.device)
        self.optimizer = build_optimizer(self.model, config)
        self.masker = ModalityMasker(self.model.student.modalities, keep_at_least=self._keep())
        self.schedule = parse_schedule(config.mask_schedule)
        self.state = TrainState()
        self.resume = resume
        self.select_split = "test" if config.selected_on_test else "val"
        self._select_batches = fixed_batches(
            getattr(self.data, self.select_split), config.batch_size, self.device
        )

    # ------------------------------------------------------------------ public
    def fit(self) -> RunResult:
        """Train (or continue) to ``config.epochs`` epochs, then write the final UME on test."""
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_config(self.config, self.run_dir)
        if (self.run_dir / LAST).is_file():
            if not self.resume:
                raise CheckpointError(
                    f"{self.run_dir} already holds a training checkpoint; resume it "
                    "(--resume) or train into another folder"
                )
            self._load_last()
        network = dist_utils.wrap(self.model, self.device, self.dist)
        self._say(
            f"[bold]{self.title}[/]: {self.config.framework.upper()} on {self.data.dataset.name} "
            f"({len(self.data.train)}/{len(self.data.val)}/{len(self.data.test)} conversations), "
            f"{protocol_note(self.config)}, device {self.device}; {self._parameter_note()}"
        )
        with self._progress() as progress:
            epochs = progress.add_task("epochs", total=self.config.epochs)
            progress.update(epochs, completed=self.state.epoch)
            while self.state.epoch < self.config.epochs:
                self._train_epoch(network, progress)
                self._end_epoch()
                progress.update(epochs, completed=self.state.epoch)
        ume = self._final_evaluation() if self.dist.is_main else None
        dist_utils.barrier(self.dist)
        return RunResult(
            self.run_dir,
            self.config,
            ume,
            self.state.best_epoch,
            self.state.best_metric,
            list(self.state.history),
        )

    # ------------------------------------------------------------------ epochs
    def _train_epoch(self, network: torch.nn.Module, progress: Progress) -> None:
        epoch = self.state.epoch
        order = dist_utils.shard(
            epoch_order(len(self.data.train), self.config.seed, epoch), self.dist
        )
        batches = chunks(order, self.config.batch_size)
        task = progress.add_task(f"epoch {epoch + 1}", total=len(batches))
        progress.update(task, completed=self.state.step)
        network.train()
        for step in range(self.state.step, len(batches)):
            batch = collate(self.data.train, batches[step]).to(self.device)
            output, rate = step_output(
                network,
                batch,
                masker=self.masker,
                schedule=self.schedule,
                seed=self.config.seed,
                epoch=epoch,
                step=step,
                rank=self.dist.rank,
                with_teacher=self.model.teacher is not None,
            )
            self.optimizer.zero_grad(set_to_none=True)
            output.loss.backward()
            if self.config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            self._accumulate(output, rate)
            self.state.step = step + 1
            self.state.global_step += 1
            every = self.config.checkpoint_every
            if every and self.state.step % every == 0 and self.state.step < len(batches):
                self._save_last()
            progress.update(task, completed=self.state.step)
            if self.on_step is not None:
                self.on_step(self.state)
        progress.remove_task(task)

    def _accumulate(self, output: Any, rate: float) -> None:
        values = {
            "loss": output.loss,
            "task_loss": output.task_loss,
            "distill_loss": output.distill_loss,
            "student_loss": output.student_loss,
            "teacher_loss": output.teacher_loss,
        }
        sums = self.state.sums
        for key, value in values.items():
            if value is not None:
                sums[key] = sums.get(key, 0.0) + float(value.detach())
        sums["rate"] = sums.get("rate", 0.0) + rate
        sums["steps"] = sums.get("steps", 0.0) + 1

    def _end_epoch(self) -> None:
        """Selection evaluation (rank 0), history, metrics files, best and last checkpoints."""
        epoch = self.state.epoch
        steps = max(self.state.sums.get("steps", 0.0), 1.0)
        record: dict[str, Any] = {"epoch": epoch + 1, "steps": int(self.state.sums.get("steps", 0))}
        for key in LOSS_KEYS:
            if key in self.state.sums:
                record[f"train_{key}"] = self.state.sums[key] / steps
        if self.dist.is_main:
            record.update(self._selection_record())
            metric = record["selection_value"]
            improved = not math.isnan(metric) and (
                self.state.best_metric is None or metric > self.state.best_metric
            )
            record["best"] = improved
            if improved:
                self.state.best_metric, self.state.best_epoch = metric, epoch + 1
                self._save_best()
            self.state.history.append(record)
            self._write_metrics()
            self._say(self._epoch_line(record))
        self.state.epoch, self.state.step, self.state.sums = epoch + 1, 0, {}
        self._save_last()
        dist_utils.barrier(self.dist)

    def _selection_record(self) -> dict[str, Any]:
        result = evaluate_student(
            self.model.student,
            self._select_batches,
            task=self.data.task,
            rates=self.config.eval_rates,
            seed=self.config.eval_seed,
            keep_at_least=self._keep(),
        )
        split, key = self.select_split, SELECTION_METRIC[self.data.task]
        record: dict[str, Any] = {
            "selection_split": split,
            "selection_metric": f"{key} (UME average)",
            "selection_value": result.average[key],
        }
        for name, value in result.average.items():
            record[f"{split}_{name}_avg"] = value
        for rate, value in zip(result.rates, result.curve(key), strict=True):
            record[f"{split}_{key}@{rate:g}"] = value
        return record

    def _epoch_line(self, record: dict[str, Any]) -> str:
        star = " *" if record["best"] else ""
        return (
            f"epoch {record['epoch']:>3}/{self.config.epochs}"
            f"  loss {record.get('train_loss', 0):.4f}"
            f"  distill {record.get('train_distill_loss', 0):.4f}  "
            f"{record['selection_split']} {record['selection_metric']} "
            f"{record['selection_value']:.4f}{star}"
        )

    # ------------------------------------------------------------------ final
    def _final_evaluation(self) -> UMEResult:
        """UME on the test split with the selected (best) student; written to the run folder."""
        best = self.run_dir / BEST
        if best.is_file():
            restore_model(self.model, load_checkpoint(best, config_hash=self.config.config_hash()))
        else:
            self._save_best()
        batches = fixed_batches(self.data.test, self.config.batch_size, self.device)
        result = evaluate_student(
            self.model.student,
            batches,
            task=self.data.task,
            rates=self.config.eval_rates,
            seed=self.config.eval_seed,
            keep_at_least=self._keep(),
        )
        write_ume(result, self.run_dir, self.config, title=self.title)
        self._say(f"UME written to {self.run_dir / 'ume.md'} (best epoch {self.state.best_epoch})")
        return result

    # ------------------------------------------------------------------ checkpoints
    def _save_last(self) -> None:
        if not self.dist.is_main:
            return
        save_checkpoint(
            self.run_dir / LAST,
            self.model.state_dict(),
            kind="train-state",
            config_hash=self.config.config_hash(),
            optimizer_state=self.optimizer.state_dict(),
            state=asdict(self.state),
        )

    def _save_best(self) -> None:
        save_checkpoint(
            self.run_dir / BEST,
            self.model.state_dict(),
            kind="model",
            config_hash=self.config.config_hash(),
            state={"epoch": self.state.best_epoch, "metric": self.state.best_metric},
        )

    def _load_last(self) -> None:
        path = self.run_dir / LAST
        checkpoint = load_checkpoint(
            path, kind="train-state", config_hash=self.config.config_hash()
        )
        restore_model(self.model, checkpoint)
        restore_optimizer(self.optimizer, checkpoint)
        try:
            self.state = TrainState(**checkpoint.state)
        except TypeError as err:
            raise CheckpointError(f"{path}: malformed training state ({err})") from None
        self._say(
            f"resuming {self.run_dir} at epoch {self.state.epoch + 1}, "
            f"step {self.state.step} (global step {self.state.global_step})"
        )

    def _write_metrics(self) -> None:
        history = self.state.history
        payload = {
            "run": self.title,
            "selected_on": self.config.select_on,
            "selection_note": protocol_note(self.config),
            "best_epoch": self.state.best_epoch,
            "best_metric": self.state.best_metric,
            "epochs": history,
        }
        atomic_write_text(self.run_dir / "metrics.json", json.dumps(payload, indent=2) + "\n")
        columns: list[str] = []
        for record in history:
            columns += [key for key in record if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        atomic_write_text(self.run_dir / "metrics.csv", buffer.getvalue())

    # ------------------------------------------------------------------ helpers
    def _keep(self) -> int:
        return min(self.config.keep_at_least, len(self.data.modality_dims))

    def _parameter_note(self) -> str:
        """'teacher 2,401,788 / student 3,859,500 parameters' (the student alone for PRE)."""
        counts = [
            f"{role} {count_parameters(module):,}"
            for role, module in (("teacher", self.model.teacher), ("student", self.model.student))
            if module is not None
        ]
        return " / ".join(counts) + " parameters"

    def _say(self, text: str) -> None:
        if self.verbose:
            self.console.print(text)

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.verbose,
            transient=True,
        )
