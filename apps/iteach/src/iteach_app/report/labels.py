"""Names a reader of a figure needs: the model a run trained (`model_label`, from the model
registry's labels) and the data it used (not the run folder's name)."""

from __future__ import annotations

from iteach_app.config import TrainConfig
from iteach_app.training.framework import model_label

__all__ = ["data_label", "figure_title", "model_label"]


def data_label(config: TrainConfig) -> str:
    """E.g. "IEMOCAPFour fold 5", "CMUMOSI" or "synthetic-iemocap4"."""
    fold = f" fold {config.fold}" if config.fold is not None else ""
    return f"{config.dataset_label}{fold}"


def figure_title(config: TrainConfig) -> str:
    """Model, then "on" data: the first two lines of every figure of a run."""
    return f"{model_label(config)}\non {data_label(config)}"
