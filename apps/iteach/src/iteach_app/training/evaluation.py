"""Evaluation of students: one `Evaluator` per run serves model selection, the final test table,
`iteach-app evaluate`, the IME protocol and `plot`, with the run's rates, mask seed,
keep_at_least, precision, device and batch limits (``batch_size`` conversations and
``max_utterances_per_batch`` padded utterances per batch).

keep_at_least: one rule for training masks, selection and evaluation (`effective_keep_at_least`):
unset (None) means 1 with several modalities and 0 with a single one, since keeping one modality
of one leaves nothing to mask (UME would be flat and distillation would see no missing input).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from erc_data import ERCDataset
from erc_data.batch import ConversationBatch
from iteach_app.config import ConfigError, TrainConfig
from iteach_app.data import DataBundle, build_splits
from iteach_app.model.protocol import ModelContract
from iteach_app.training.distributed import DistInfo, device_for
from iteach_app.training.framework import build_framework
from iteach_app.training.plans import evaluation_batches
from iteach_app.training.run_folder import RunFolder
from iteach_app.training.saver import CheckpointSaver
from iteach_app.training.step import autocast
from its_distill import InvertedTeacherStudent
from missing_modality import UMEResult, evaluate_ime, evaluate_ume

SPLITS = ("train", "val", "test")
# UME stacks the rates' masked copies of a batch into one forward while copies * B * L^2 stays
# within this many attention cells per head, the memory cap (8 heads in float32: 128 MiB per
# attention map); a batch over it runs its rates in chunks that fit. The eight default rates
# of a 32-conversation batch up to 128 utterances long fit: one forward per batch, e.g. for the
# whole IEMOCAP test table at the paper's batch size.
STACK_CELLS = 1 << 22


def effective_keep_at_least(config: TrainConfig, num_modalities: int) -> int:
    """Modalities always kept per utterance: the configured value (default 1, or 0 with one
    modality), capped at ``num_modalities``."""
    if config.keep_at_least is None:
        return 0 if num_modalities == 1 else 1
    return min(config.keep_at_least, num_modalities)


def single_modality_note(config: TrainConfig, num_modalities: int) -> str | None:
    """The console note for the one-modality default, or None when it does not apply."""
    if config.keep_at_least is None and num_modalities == 1:
        return (
            "one modality: keep_at_least defaults to 0 (whole utterances are masked, so UME and "
            "distillation see missing input; set --keep-at-least to override)"
        )
    return None


def predictor(
    student: ModelContract, task: str, precision: str = "32"
) -> Callable[..., torch.Tensor]:
    """``predict(features, utterance_mask, present)`` for missing_modality: logits or values
    (float32, also under bf16 autocast); ``predict(..., speakers)`` for a student that sets
    ``uses_speakers`` (missing_modality passes the batch's speakers to it)."""

    def predict(features, utterance_mask, present):
        with torch.no_grad(), autocast(precision, utterance_mask.device):
            out = student(features=features, utterance_mask=utterance_mask, present=present)
        out = out.float()
        return out.squeeze(-1) if task == "regression" else out

    def predict_with_speakers(features, utterance_mask, present, speakers):
        with torch.no_grad(), autocast(precision, utterance_mask.device):
            out = student(
                features=features,
                utterance_mask=utterance_mask,
                present=present,
                speakers=speakers,
            )
        out = out.float()
        return out.squeeze(-1) if task == "regression" else out

    return predict_with_speakers if student.uses_speakers else predict


def evaluate_student(
    student: ModelContract,
    batches: Sequence,
    *,
    task: str,
    rates: Sequence[float],
    seed: int,
    keep_at_least: int,
    precision: str = "32",
    stack_budget: int | None = STACK_CELLS,
) -> UMEResult:
    """UME of ``student`` (put in eval mode, restored after) with masks fixed by ``seed``;
    the rates' copies of a batch share forwards within ``stack_budget`` (None: one per rate)."""
    was_training = student.training
    student.eval()
    try:
        return evaluate_ume(
            predictor(student, task, precision),
            batches,
            rates,
            seed=seed,
            task=task,
            keep_at_least=keep_at_least,
            modalities=student.modalities,
            stack_budget=stack_budget,
        )
    finally:
        student.train(was_training)


@dataclass(frozen=True)
class Evaluator:
    """UME and IME of students under one run's settings (`for_run`); masks are drawn per
    conversation id, so the batch limits change the memory used, not the result."""

    task: str
    rates: tuple[float, ...]
    seed: int
    keep_at_least: int
    precision: str
    batch_size: int
    max_utterances_per_batch: int | None
    device: torch.device

    @classmethod
    def for_run(
        cls,
        config: TrainConfig,
        data: DataBundle,
        device: torch.device,
        *,
        batch_size: int | None = None,
    ) -> Evaluator:
        """The run's evaluator: its eval rates, eval seed, effective keep_at_least, precision and
        batch limits (``batch_size``, default the run's, replaces the conversation count)."""
        return cls(
            task=data.task,
            rates=tuple(config.eval_rates),
            seed=config.eval_seed,
            keep_at_least=effective_keep_at_least(config, len(data.modality_dims)),
            precision=config.precision,
            batch_size=batch_size if batch_size is not None else config.batch_size,
            max_utterances_per_batch=config.max_utterances_per_batch or None,
            device=device,
        )

    def batches(self, dataset: ERCDataset) -> list[ConversationBatch]:
        """``dataset`` as fixed evaluation batches on the device, within the batch limits."""
        return evaluation_batches(
            dataset, self.batch_size, self.max_utterances_per_batch, self.device
        )

    def ume(
        self, student: ModelContract, data: ERCDataset | Sequence[ConversationBatch]
    ) -> UMEResult:
        """UME of ``student`` on a dataset (batched here) or on batches from `batches`."""
        batches = self.batches(data) if isinstance(data, ERCDataset) else data
        return evaluate_student(
            student,
            batches,
            task=self.task,
            rates=self.rates,
            seed=self.seed,
            keep_at_least=self.keep_at_least,
            precision=self.precision,
        )

    def ime(self, students: Mapping[float, ModelContract], dataset: ERCDataset) -> UMEResult:
        """IME: the student trained at rate R tested at R, on UME's masks of ``dataset``."""
        if not students:
            raise ValueError("IME needs at least one trained student (one per rate)")
        first = next(iter(students.values()))
        for student in students.values():
            student.eval()
        return evaluate_ime(
            {rate: predictor(s, self.task, self.precision) for rate, s in students.items()},
            self.batches(dataset),
            seed=self.seed,
            task=self.task,
            keep_at_least=self.keep_at_least,
            modalities=first.modalities,
        )


def load_trained(
    run_dir: str | Path, *, device: str = "auto", which: str = "best"
) -> tuple[TrainConfig, DataBundle, InvertedTeacherStudent, torch.device]:
    """Rebuild a run's data and models and load its best (or last) weights, validated."""
    folder = RunFolder(run_dir)
    config = folder.read_config()
    data = build_splits(folder.data_config(config))
    model = build_framework(config, data.modality_dims, data.out_dim, data.task, strict=False)
    CheckpointSaver(folder, config).restore(model, which)
    target = device_for(device if device != "auto" else config.device, DistInfo())
    return config, data, model.to(target).eval(), target


def evaluate_run(
    run_dir: str | Path,
    *,
    device: str = "auto",
    split: str = "test",
    batch_size: int | None = None,
) -> tuple[TrainConfig, UMEResult]:
    """UME of a trained run's best student with the run's own evaluator; masks are drawn per
    conversation id, so ``batch_size`` (default: the run's) does not change the result."""
    if split not in SPLITS:
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1; got {batch_size}")
    config, data, model, target = load_trained(run_dir, device=device)
    evaluator = Evaluator.for_run(config, data, target, batch_size=batch_size)
    return config, evaluator.ume(model.student, getattr(data, split))
