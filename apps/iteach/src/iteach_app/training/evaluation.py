"""UME evaluation of a student, and of a finished run's best student (`iteach-app evaluate`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from iteach_app.config import ConfigError, TrainConfig
from iteach_app.data import DataBundle, build_splits
from iteach_app.training.checkpoint import restore_model
from iteach_app.training.distributed import DistInfo, device_for
from iteach_app.training.framework import build_framework
from iteach_app.training.keep import effective_keep_at_least
from iteach_app.training.plans import evaluation_batches, utterance_budget
from iteach_app.training.precision import autocast
from iteach_app.training.run_folder import RunFolder
from its_distill import InvertedTeacherStudent
from missing_modality import UMEResult, evaluate_ume

SPLITS = ("train", "val", "test")
# UME stacks the rates' masked copies of a batch into one forward while copies * B * L^2 stays
# within this many attention cells per head, the memory cap (8 heads in float32: 128 MiB per
# attention map); a batch over it runs its rates in chunks that fit. The eight default rates
# of a 32-conversation batch up to 128 utterances long fit: one forward per batch, e.g. for the
# whole IEMOCAP test table at the paper's batch size.
STACK_CELLS = 1 << 22


def predictor(student: nn.Module, task: str, precision: str = "32") -> Callable[..., torch.Tensor]:
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

    return predict_with_speakers if getattr(student, "uses_speakers", False) else predict


def evaluate_student(
    student: nn.Module,
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
            modalities=getattr(student, "modalities", None),
            stack_budget=stack_budget,
        )
    finally:
        student.train(was_training)


def load_trained(
    run_dir: str | Path, *, device: str = "auto", which: str = "best"
) -> tuple[TrainConfig, DataBundle, InvertedTeacherStudent, torch.device]:
    """Rebuild a run's data and models and load its best (or last) weights, validated."""
    folder = RunFolder(run_dir)
    config = folder.read_config()
    data = build_splits(folder.data_config(config))
    model = build_framework(config, data.modality_dims, data.out_dim, data.task, strict=False)
    restore_model(model, folder.load(which, config, model.state_dict()))
    target = device_for(device if device != "auto" else config.device, DistInfo())
    return config, data, model.to(target).eval(), target


def evaluate_run(
    run_dir: str | Path,
    *,
    device: str = "auto",
    split: str = "test",
    batch_size: int | None = None,
) -> tuple[TrainConfig, UMEResult]:
    """UME of a trained run's best student with the run's own rates, mask seed and
    keep_at_least; masks are drawn per conversation id, so ``batch_size`` (default: the run's)
    does not change the result."""
    if split not in SPLITS:
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1; got {batch_size}")
    config, data, model, target = load_trained(run_dir, device=device)
    size = batch_size if batch_size is not None else config.batch_size
    batches = evaluation_batches(getattr(data, split), size, utterance_budget(config), target)
    result = evaluate_student(
        model.student,
        batches,
        task=data.task,
        rates=config.eval_rates,
        seed=config.eval_seed,
        keep_at_least=effective_keep_at_least(config, len(data.modality_dims)),
        precision=config.precision,
    )
    return config, result
