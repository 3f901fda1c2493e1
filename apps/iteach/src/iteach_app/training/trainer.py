"""`Trainer`: one run from config to run folder. Builds data, models and optimizer, checks and
locks the folder before writing anything, runs the loop with its callbacks, then evaluates the
selected student on the test split (UME) and writes it."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from iteach_app.config import TrainConfig
from iteach_app.config.validate import validate
from iteach_app.data import DataBundle, build_splits, with_class_names
from iteach_app.io import stale_temp_files
from iteach_app.model import count_parameters
from iteach_app.report.labels import BASELINE_LABELS, figure_title
from iteach_app.training import distributed
from iteach_app.training.callbacks import (
    Checkpoints,
    EarlyStopping,
    EpochClock,
    MetricsFiles,
    ProgressDisplay,
    Selection,
    StepHook,
    save_best,
)
from iteach_app.training.checkpoint import CheckpointError, restore_model, restore_optimizer
from iteach_app.training.diagnostics import DistillDiagnostics
from iteach_app.training.distributed import DistInfo
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework
from iteach_app.training.keep import effective_keep_at_least, single_modality_note
from iteach_app.training.loop import Callback, TrainLoop, TrainState
from iteach_app.training.optim import Criterion, build_criterion, build_optimizer, build_schedule
from iteach_app.training.plans import epoch_batches, evaluation_batches, too_long, utterance_budget
from iteach_app.training.preflight import check_keep_at_least, check_labels
from iteach_app.training.pretraining import phase_callbacks
from iteach_app.training.resume_state import check_resume_state
from iteach_app.training.run_folder import RunFolder, protocol_note
from iteach_app.training.standardization import fit_input_statistics
from iteach_app.training.teacher_phase import TeacherFreeze
from iteach_app.training.trackers import require_tracker, tracker_callbacks
from missing_modality import ModalityMasker, UMEResult, parse_schedule


@dataclass
class RunResult:
    """The outcome of a finished run."""

    run_dir: Path
    config: TrainConfig
    ume: UMEResult | None
    best_epoch: int | None
    best_metric: float | None
    history: list[dict[str, Any]]


class Trainer:
    """Train one run into ``run_dir`` (created and filled on rank 0).

    ``resume=True`` continues from the folder's last checkpoint where it exists; without it a
    folder holding one is refused before anything is written. ``on_step(state)`` runs after
    every step (tests use it to interrupt a run); ``verbose`` shows progress and epoch lines;
    ``callbacks`` join the run's own (after them), e.g. a tuner's pruning.
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
        on_step: Any = None,
        console: Console | None = None,
        title: str | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.config = validate(config)
        require_tracker(self.config.report_to)
        self.extra_callbacks = list(callbacks)
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.folder = RunFolder(run_dir)
        self.run_dir = self.folder.path
        self.dist = dist_info or DistInfo()
        self.verbose = verbose and self.dist.is_main
        self.console = console or Console(stderr=True, quiet=not self.verbose)
        self.title = title or " ".join(figure_title(config).split())  # model on data
        self.on_step = on_step
        self.resume = resume
        self.device = distributed.device_for(config.device, self.dist)
        self.data = data if data is not None else build_splits(config)
        self.config = config = with_class_names(self.config, self.data.dataset)
        check_keep_at_least(config, len(self.data.modality_dims))
        for warning in check_labels(self.data):
            if self.dist.is_main:
                print(f"warning: {warning}", file=sys.stderr)
        self.model = build_framework(
            config, self.data.modality_dims, self.data.out_dim, self.data.task
        ).to(self.device)
        self.optimizer = build_optimizer(self.model, config)
        self.state = TrainState()
        self.notes: list[str] = []
        if not (resume and self.folder.last.is_file()):
            self.notes = fit_input_statistics(self.model, self.data.train, config.standardize)

    def fit(self) -> RunResult:
        """Train (or continue) to ``config.epochs`` epochs, then write the final UME on test."""
        if self.dist.is_main:
            self.folder.check_can_train(self.config, resume=self.resume)
            self.folder.create()
            self.folder.acquire()
        try:
            if self.dist.is_main:
                for folder in (self.run_dir, self.folder.last.parent):
                    for stale in stale_temp_files(folder):
                        stale.unlink(missing_ok=True)
            return self._fit()
        except OSError as err:
            if not self.dist.is_main:
                raise
            raise OSError(
                f"{err.filename or self.run_dir}: cannot write ({err.strerror or err}); the run "
                "folder stays resumable "
                f"once there is room: iteach-app train --resume {shlex.quote(str(self.run_dir))}"
            ) from err
        finally:
            if self.dist.is_main:
                self.folder.release()

    def _fit(self) -> RunResult:
        if self.dist.is_main:
            self.folder.write_config(self.config)
        if self.resume and self.folder.last.is_file():
            self._load_last()
        elif self.resume and self.verbose:
            self.console.print(f"{self.run_dir} holds no checkpoint yet: training from epoch 1")
        display = ProgressDisplay(self.console, self.verbose)
        callbacks = [
            *phase_callbacks(self.model.student, self.config.mmin_pretrain_epochs),
            EpochClock(),
            DistillDiagnostics(),
            Selection(self.folder),
            Checkpoints(self.folder),
            MetricsFiles(self.folder, self.title),
            display,
            *tracker_callbacks(self.config, self.folder, self.run_dir.name),
            *self.extra_callbacks,
        ]
        teacher_epochs = min(self.config.teacher_epochs or 0, self.config.epochs - 1)
        if teacher_epochs > 0 and self.model.teacher is not None:
            callbacks.insert(0, TeacherFreeze(teacher_epochs))
        if self.config.patience:
            callbacks.append(EarlyStopping(self.config.patience, display.say))
        if self.on_step is not None:
            callbacks.append(StepHook(self.on_step))
        loop = TrainLoop(
            self.model,
            distributed.wrap(self.model, self.device, self.dist),
            self.optimizer,
            config=self.config,
            data=self.data,
            masker=ModalityMasker(self.model.student.modalities, keep_at_least=self._keep()),
            schedule=parse_schedule(self.config.mask_schedule),
            device=self.device,
            dist=self.dist,
            state=self.state,
            callbacks=callbacks,
            lr_schedule=build_schedule(self.config, self._steps_per_epoch()),
            criterion=self._criterion(),
        )
        display.say(
            f"[bold]{self.title}[/]: {model_label(self.config)} on {self.data.dataset.name} "
            f"({len(self.data.train)}/{len(self.data.val)}/{len(self.data.test)} conversations), "
            f"{protocol_note(self.config)}, device {self.device}; {self._parameter_note()}"
        )
        note = single_modality_note(self.config, len(self.data.modality_dims))
        if note is not None:
            display.say(note)
        for note in self.notes:
            display.say(f"warning: {note}")
        if self.verbose and self.config.audit and not self.state.global_step:
            from iteach_app.report.audit_cache import cached_audit

            report, _ = cached_audit(self.data)
            for line in report.short_lines():
                display.say(f"audit {line}")
        self._note_long_conversations(display)
        try:
            loop.run()
        finally:
            display.progress.stop()
        ume = self._final_evaluation(loop, display) if self.dist.is_main else None
        distributed.barrier(self.dist)
        state = self.state
        return RunResult(
            self.run_dir, self.config, ume, state.best_epoch, state.best_metric, list(state.history)
        )

    def _final_evaluation(self, loop: TrainLoop, display: ProgressDisplay) -> UMEResult:
        """UME on the test split with the selected (best) student; written to the run folder."""
        if self.folder.best.is_file():
            restore_model(
                self.model, self.folder.load("best", self.config, self.model.state_dict())
            )
        else:
            save_best(loop, self.folder)
        batches = evaluation_batches(
            self.data.test, self.config.batch_size, utterance_budget(self.config), self.device
        )
        result = evaluate_student(
            self.model.student,
            batches,
            task=self.data.task,
            rates=self.config.eval_rates,
            seed=self.config.eval_seed,
            keep_at_least=self._keep(),
            precision=self.config.precision,
        )
        self.folder.write_ume(result, self.config, title=self.title)
        display.say(f"UME written to {self.folder.ume['md']} (best epoch {self.state.best_epoch})")
        return result

    def _load_last(self) -> None:
        checkpoint = self.folder.load("last", self.config, self.model.state_dict())
        restore_model(self.model, checkpoint)
        restore_optimizer(self.optimizer, checkpoint)
        check_resume_state(checkpoint.path, checkpoint.state, self.config.epochs)
        try:
            self.state = TrainState(**checkpoint.state)
        except TypeError as err:
            raise CheckpointError(f"{checkpoint.path}: malformed training state ({err})") from None
        if self.verbose:
            self.console.print(
                f"resuming {self.run_dir} at epoch {self.state.epoch + 1}, "
                f"step {self.state.step} (global step {self.state.global_step})"
            )

    def _steps_per_epoch(self) -> int:
        """Optimiser steps in one epoch on this rank (the first epoch's plan; a budget can make
        later epochs differ by a step or two, which the schedule's horizon does not need)."""
        return max(len(epoch_batches(self.data.train, self.config, 0, self.dist)), 1)

    def _criterion(self) -> Criterion | None:
        """The classification criterion of the recipe (None: the wrapper's plain loss)."""
        counts = self.data.train.label_counts() if self.data.task == "classification" else None
        return build_criterion(self.config, self.data.task, counts, self.data.out_dim)

    def _note_long_conversations(self, display: ProgressDisplay) -> None:
        """Say once which training conversations exceed the utterance budget (each goes alone)."""
        budget = utterance_budget(self.config)
        longer = too_long(self.data.train, budget)
        if longer:
            name, length = max(longer, key=lambda item: item[1])
            display.say(
                f"{len(longer)} training conversation(s) longer than max_utterances_per_batch "
                f"{budget} train alone in their batch (longest: {name}, {length} utterances)"
            )

    def _keep(self) -> int:
        return effective_keep_at_least(self.config, len(self.data.modality_dims))

    def _parameter_note(self) -> str:
        """'teacher 2,401,788 / student 3,859,500 parameters' (the student alone for PRE)."""
        counts = [
            f"{role} {count_parameters(module):,}"
            for role, module in (("teacher", self.model.teacher), ("student", self.model.student))
            if module is not None
        ]
        return " / ".join(counts) + " parameters"


def model_label(config: TrainConfig) -> str:
    """What a run trains, for titles and legends: ITS / TS / PRE, or the baseline's name."""
    if config.model == "iteach":
        return config.framework.upper()
    return BASELINE_LABELS[config.model]
