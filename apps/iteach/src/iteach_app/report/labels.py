"""Names a reader of a figure needs: the model a run trained and the data it used (not the run
folder's name)."""

from __future__ import annotations

from iteach_app.config import TrainConfig
from iteach_app.training.framework import resolve_roles

FRAMEWORK_NAMES = {"its": "ITEACH-Net (ITS)", "ts": "TS", "pre": "PRE"}
BASELINE_LABELS = {"ae": "AE", "cra": "CRA", "mmin": "MMIN", "gcnet": "GCNet", "cpm": "CPM-Net"}


def model_label(config: TrainConfig) -> str:
    """E.g. "ITEACH-Net (ITS), attention-3 teacher / nas-4 student", "PRE, attention-4", or a
    baseline's own name ("AE"): a baseline trains alone, whatever the framework setting says."""
    if config.model != "iteach":
        return BASELINE_LABELS.get(config.model, config.model)
    teacher, student = resolve_roles(config)
    name = FRAMEWORK_NAMES.get(config.framework, config.framework)
    if teacher is None:
        return f"{name}, {student.model}-{student.layers}"
    return (
        f"{name}, {teacher.model}-{teacher.layers} teacher / "
        f"{student.model}-{student.layers} student"
    )


def data_label(config: TrainConfig) -> str:
    """E.g. "IEMOCAPFour fold 5", "CMUMOSI" or "synthetic-iemocap4"."""
    fold = f" fold {config.fold}" if config.fold is not None else ""
    return f"{config.dataset_label}{fold}"


def figure_title(config: TrainConfig) -> str:
    """Model, then "on" data: the first two lines of every figure of a run."""
    return f"{model_label(config)}\non {data_label(config)}"
