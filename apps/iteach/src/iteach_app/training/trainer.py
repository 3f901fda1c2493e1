"""`Trainer`: one run from config to run folder. Builds data, models and optimizer, checks and
locks the folder before writing anything, runs the loop with its callbacks, then evaluates the
selected student on the test split (UME) and writes it.

What it reports with comes in from the caller (the command layer): the run's title and an
optional audit of the data, so training never reaches up into report/.
"""

from __future__ import annotations

import shlex
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn

from erc_data import ERCDataset, Standardizer
from iteach_app.config import TrainConfig
from iteach_app.config.validate import validate
from iteach_app.data import DataBundle, build_splits, with_class_names
from iteach_app.io import stale_temp_files
from iteach_app.model import FeatureStandardizer, count_parameters
from iteach_app.model.registry import RegistryView
from iteach_app.training import distributed
from iteach_app.training.callbacks import (
    Checkpoints,
    EarlyStopping,
    EpochClock,
    MetricsFiles,
    ProgressDisplay,
    Selection,
    StepHook,
)
from iteach_app.training.checkpoint import CheckpointError
from iteach_app.training.diagnostics import DistillDiagnostics
from iteach_app.training.distributed import DistInfo
from iteach_app.training.evaluation import Evaluator, single_modality_note
from iteach_app.training.framework import build_framework, model_label
from iteach_app.training.loop import Callback, TrainLoop, TrainState
from iteach_app.training.optim import Criterion, build_criterion, build_optimizer, build_schedule
from iteach_app.training.phases import plan_phases
from iteach_app.training.plans import epoch_batches, too_long
from iteach_app.training.preflight import check_keep_at_least, check_labels
from iteach_app.training.run_folder import RunFolder, protocol_note
from iteach_app.training.saver import CheckpointSaver
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
    ``callbacks`` join the run's own (after them), e.g. a tuner's pruning. ``title`` names the
    run in its files and console (its lines joined; default: the folder's name); ``audit``
    returns lines about the data, shown before a fresh (not resumed) verbose run when the
    config asks for the audit.
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
        audit: Callable[[DataBundle], Sequence[str]] | None = None,
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
        self.title = " ".join(title.split()) if title else self.folder.name
        self.audit = audit
        self.on_step = on_step
        self.resume = resume
        self.device = distributed.device_for(config.device, self.dist)
        self.data = data if data is not None else build_splits(config)
        self.config = config = with_class_names(self.config, self.data.dataset)
        check_keep_at_least(config, len(self.data.modality_dims))
        for warning in check_labels(self.data):
            if self.dist.is_main:
                print(f"warning: {warning}", file=sys.stderr)
        self.model = build_framework(  # a resumed run rebuilds as it trained (not strict)
            config,
            self.data.modality_dims,
            self.data.out_dim,
            self.data.task,
            strict=not (resume and self.folder.last.is_file()),
        ).to(self.device)
        self.optimizer = build_optimizer(self.model, config)
        self.evaluator = Evaluator.for_run(config, self.data, self.device)
        self.saver = CheckpointSaver(self.folder, config)
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
            EpochClock(),
            DistillDiagnostics(),
            Selection(self.evaluator, self.saver),
            Checkpoints(self.saver),
            MetricsFiles(self.folder, self.title),
            display,
            *tracker_callbacks(self.config, self.folder, self.run_dir.name),
            *self.extra_callbacks,
        ]
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
            phases=plan_phases(
                self.model,
                pretrain_epochs=self.config.mmin_pretrain_epochs,
                teacher_epochs=self.config.teacher_epochs or 0,
                epochs=self.config.epochs,
            ),
        )
        display.say(
            f"[bold]{self.title}[/]: {model_label(self.config, short=True)} "
            f"on {self.data.dataset.name} "
            f"({len(self.data.train)}/{len(self.data.val)}/{len(self.data.test)} conversations), "
            f"{protocol_note(self.config)}, device {self.device}{self._ranks_note()}; "
            f"{self._parameter_note()}"
        )
        note = single_modality_note(self.config, len(self.data.modality_dims))
        if note is not None:
            display.say(note)
        for note in self.notes:
            display.say(f"warning: {note}")
        if self.audit and self.verbose and self.config.audit and not self.state.global_step:
            for line in self.audit(self.data):
                display.say(f"audit {line}")
        self._note_long_conversations(display)
        try:
            loop.run()
        finally:
            display.progress.stop()
        ume = self._final_evaluation(display) if self.dist.is_main else None
        distributed.barrier(self.dist)
        state = self.state
        return RunResult(
            self.run_dir, self.config, ume, state.best_epoch, state.best_metric, list(state.history)
        )

    def _final_evaluation(self, display: ProgressDisplay) -> UMEResult:
        """UME on the test split with the selected (best) student; written to the run folder."""
        if self.saver.has("best"):
            self.saver.restore(self.model, "best")
        else:
            self.saver.save_best(self.model, self.state.best_epoch, self.state.best_metric)
        result = self.evaluator.ume(self.model.student, self.data.test)
        self.folder.write_ume(result, self.config, title=self.title)
        display.say(f"UME written to {self.folder.ume['md']} (best epoch {self.state.best_epoch})")
        return result

    def _load_last(self) -> None:
        state, path = self.saver.resume(self.model, self.optimizer)
        try:
            self.state = TrainState(**state)
        except TypeError as err:
            raise CheckpointError(f"{path}: malformed training state ({err})") from None
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
        """Say once which training conversations exceed max_utterances_per_batch (each goes
        alone in its batch)."""
        max_utterances_per_batch = self.config.max_utterances_per_batch
        longer = too_long(self.data.train, max_utterances_per_batch)
        if longer:
            name, length = max(longer, key=lambda item: item[1])
            display.say(
                f"{len(longer)} training conversation(s) longer than max_utterances_per_batch "
                f"{max_utterances_per_batch} train alone in their batch (longest: {name}, "
                f"{length} utterances)"
            )

    def _keep(self) -> int:
        return self.evaluator.keep_at_least

    def _ranks_note(self) -> str:
        """' x N DDP ranks (backend)' under torchrun, so a log says the run was distributed."""
        if not self.dist.enabled:
            return ""
        backend = distributed.backend_for(self.device)
        return f" x {self.dist.world_size} DDP ranks ({backend})"

    def _parameter_note(self) -> str:
        """'teacher 2,401,788 / student 3,859,500 parameters' (the student alone for PRE)."""
        counts = [
            f"{role} {count_parameters(module):,}"
            for role, module in (("teacher", self.model.teacher), ("student", self.model.student))
            if module is not None
        ]
        return " / ".join(counts) + " parameters"


def fit_input_statistics(model: nn.Module, train: ERCDataset, mode: str) -> list[str]:
    """Fit ``mode`` ("standard" or "none") on the TRAINING split ``train`` and load the same
    per-modality mean and std into every `FeatureStandardizer` of ``model`` (ITEACH-Net and the
    baselines hold one at their input); the buffers then travel in every checkpoint, so
    evaluate, plot and predict reuse them. Returns the fit's warnings, one line each; NaN or inf
    statistics raise erc_data.DataError (a ValueError) naming the modality."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = Standardizer(mode).fit(train).state_dict()
    for module in model.modules():
        if isinstance(module, FeatureStandardizer):
            module.load_statistics(state)
    return [" ".join(str(w.message).split()) for w in caught]


BASELINE_LABELS: Mapping[str, str] = RegistryView(("baseline",), lambda entry: entry.label)
"""name -> display label of every registered baseline (a view of the model registry)."""
