"""One figure that shows whether the distillation converges: per epoch, the task and distillation
losses, the distilled hidden states' norms (teacher and student, per layer) and the gradient
norms that the task loss and the distillation loss put on the student."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from iteach_app.report.figures import save_png_atomic

LOSSES = {"train_task_loss": "task loss", "train_distill_loss": "distillation loss"}
GRADIENTS = {
    "diag_task_grad_norm": "from the task loss",
    "diag_distill_grad_norm": "from the distillation loss",
}


def _series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of ``key`` over the epochs that hold it."""
    pairs = [(int(r["epoch"]), float(r[key])) for r in history if r.get(key) is not None]
    return [e for e, _ in pairs], [v for _, v in pairs]


def _norm_layers(history: Sequence[Mapping[str, Any]]) -> list[int]:
    layers = {
        int(key.rsplit("_", 1)[1])
        for record in history
        for key in record
        if key.startswith("diag_teacher_norm_") or key.startswith("diag_student_norm_")
    }
    return sorted(layers)


def plot_training_curves(
    history: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = ""
) -> Path:
    """Save `training_figure` to ``path`` (PNG, atomically)."""
    return save_png_atomic(training_figure(history, title=title), path)


def training_figure(history: Sequence[Mapping[str, Any]], *, title: str = "") -> Figure:
    """Three panels against the epoch: losses, hidden-state norms, student gradient norms; each
    legend below its panel (never over a curve), whole epochs on the x axis.

    ``history``: metrics.json's "epochs" records. A run without a teacher has no distillation
    loss or norms: those panels say so instead of drawing empty axes."""
    if not history:
        raise ValueError("no epochs recorded: nothing to plot")
    figure = Figure(figsize=(12.0, 4.4), layout="constrained")
    loss_axes, norm_axes, grad_axes = figure.subplots(1, 3)
    for key, label in LOSSES.items():
        epochs, values = _series(history, key)
        if epochs and any(values):
            loss_axes.plot(epochs, values, marker=".", label=label)
    loss_axes.set_title("training losses (epoch means)", fontsize=10)
    loss_axes.set_ylabel("loss")

    layers = _norm_layers(history)
    for layer in layers:
        for role, style in (("teacher", "-"), ("student", "--")):
            epochs, values = _series(history, f"diag_{role}_norm_{layer}")
            if epochs:
                name = "last layer" if layer == 0 else f"layer -{layer + 1}"
                norm_axes.plot(epochs, values, style, label=f"{role}, {name}")
    if not layers:
        norm_axes.text(0.5, 0.5, "no teacher: nothing distilled", ha="center", va="center",
                       transform=norm_axes.transAxes)  # fmt: skip
    norm_axes.set_title("distilled hidden states: mean row norm", fontsize=10)
    norm_axes.set_ylabel("L2 norm")

    for key, label in GRADIENTS.items():
        epochs, values = _series(history, key)
        if epochs:
            grad_axes.plot(epochs, values, marker=".", label=label)
    grad_axes.set_title("student gradient norm (diagnostic batch)", fontsize=10)
    grad_axes.set_ylabel("L2 norm")

    for axes in (loss_axes, norm_axes, grad_axes):
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2,
                        frameon=False)  # fmt: skip
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
