"""UME evaluation of a student, the run folder's UME outputs, and `iteach-app evaluate RUN`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from iteach_app.checkpoint import load_checkpoint, restore_model
from iteach_app.config import TrainConfig, from_run_dir
from iteach_app.data import DataBundle, build_splits, fixed_batches
from iteach_app.distributed import DistInfo, device_for
from iteach_app.framework import build_framework
from iteach_app.io import atomic_write_text
from its_distill import InvertedTeacherStudent
from missing_modality import UMEResult, evaluate_ume, plot_ume

SELECTION_METRIC = {"classification": "waf", "regression": "binary_waf"}
TEST_NOTE = "model selected on TEST (paper protocol)"
VAL_NOTE = "model selected on the validation split"
BEST = Path("checkpoints") / "best.safetensors"
LAST = Path("checkpoints") / "last.safetensors"


def protocol_note(config: TrainConfig) -> str:
    """How the reported model was selected; every output of a run carries this line."""
    return TEST_NOTE if config.selected_on_test else VAL_NOTE


def predictor(student: nn.Module, task: str) -> Callable[..., torch.Tensor]:
    """``predict(features, utterance_mask, present)`` for missing_modality: logits or values."""

    def predict(features, utterance_mask, present):
        with torch.no_grad():
            out = student(features=features, utterance_mask=utterance_mask, present=present)
        return out.squeeze(-1) if task == "regression" else out

    return predict


def evaluate_student(
    student: nn.Module,
    batches: Sequence,
    *,
    task: str,
    rates: Sequence[float],
    seed: int,
    keep_at_least: int,
) -> UMEResult:
    """UME of ``student`` (put in eval mode, restored after) with masks fixed by ``seed``."""
    was_training = student.training
    student.eval()
    try:
        return evaluate_ume(
            predictor(student, task),
            batches,
            rates,
            seed=seed,
            task=task,
            keep_at_least=keep_at_least,
            modalities=getattr(student, "modalities", None),
        )
    finally:
        student.train(was_training)


def write_ume(result: UMEResult, run_dir: str | Path, config: TrainConfig, *, title: str) -> None:
    """ume.md / ume.csv / ume.json / ume.png in the run folder, each naming the protocol."""
    run_dir = Path(run_dir)
    note = protocol_note(config)
    atomic_write_text(run_dir / "ume.md", f"# UME: {title}\n\n{note}.\n\n{result.to_markdown()}")
    atomic_write_text(run_dir / "ume.csv", f"# {title}; {note}\n{result.to_csv()}")
    payload = {
        **result.to_dict(),
        "run": title,
        "selected_on": config.select_on,
        "selection_note": note,
        "selection_metric": SELECTION_METRIC[result.task],
        "config_hash": config.config_hash(),
    }
    atomic_write_text(run_dir / "ume.json", json.dumps(payload, indent=2) + "\n")
    plot_ume({title: result}, run_dir / "ume.png", title=note)


def load_ume(run_dir: str | Path) -> UMEResult:
    """The final UME result stored in a run folder's ume.json."""
    path = Path(run_dir) / "ume.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (has the run finished?)")
    return UMEResult.from_dict(json.loads(path.read_text(encoding="utf-8")))


def load_trained(
    run_dir: str | Path, *, device: str = "auto", which: str = "best"
) -> tuple[TrainConfig, DataBundle, InvertedTeacherStudent, torch.device]:
    """Rebuild a run's data and models and load its best (or last) weights, validated."""
    run_dir = Path(run_dir)
    config = from_run_dir(run_dir)
    data = build_splits(config)
    model = build_framework(config, data.modality_dims, data.out_dim, data.task)
    path = run_dir / (BEST if which == "best" else LAST)
    checkpoint = load_checkpoint(path, config_hash=config.config_hash())
    restore_model(model, checkpoint)
    target = device_for(device if device != "auto" else config.device, DistInfo())
    return config, data, model.to(target).eval(), target


def evaluate_run(
    run_dir: str | Path, *, device: str = "auto", split: str = "test", batch_size: int = 32
) -> tuple[TrainConfig, UMEResult]:
    """UME (rates and mask seed from the run's config) of a trained run's best student."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test; got {split!r}")
    config, data, model, target = load_trained(run_dir, device=device)
    batches = fixed_batches(getattr(data, split), batch_size, target)
    result = evaluate_student(
        model.student,
        batches,
        task=data.task,
        rates=config.eval_rates,
        seed=config.eval_seed,
        keep_at_least=config.keep_at_least,
    )
    return config, result
