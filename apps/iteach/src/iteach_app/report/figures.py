"""Figures of a trained ITEACH-Net: confusion matrices per missing rate, the ECCE bias of one
conversation (paper Figure 5), and a t-SNE of the last hidden states (paper Figure 9).

Drawn with matplotlib's Agg canvas (no display needed); every PNG is written atomically.
"""

from __future__ import annotations

import contextlib
import io
import math
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from iteach_app.io import atomic_write_bytes
from its_distill import capture_hidden_states
from missing_modality import UMEResult, conversation_mask, zero_fill


def save_png_atomic(figure: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Render ``figure`` to ``path`` as PNG, written atomically."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _wrap(text: str, width: int = 55) -> str:
    """Each line of a title wrapped at ``width`` characters, so a long model name never runs off
    the figure."""
    return "\n".join(textwrap.fill(line, width) or line for line in text.splitlines())


@contextlib.contextmanager
def _inference(model: nn.Module) -> Iterator[torch.device]:
    """Eval mode and no grad for the duration; yields the model's device; restores the mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield next(model.parameters()).device
    finally:
        model.train(was_training)


def plot_confusion_per_rate(
    result: UMEResult,
    path: str | Path,
    class_names: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Path:
    """One confusion matrix per missing rate of a classification `result` (rows = true class,
    colour = row-normalised fraction with its colour bar, text = count), under `title` (e.g. the
    model and dataset); saved as a PNG at `path`."""
    return save_png_atomic(confusion_figure(result, class_names, title=title), path)


def confusion_figure(
    result: UMEResult, class_names: Sequence[str] | None = None, *, title: str | None = None
) -> Figure:
    """The figure of `plot_confusion_per_rate`. Class names label the first column's rows and
    the bottom row's columns only (slanted, anchored at their tick), so neighbouring panels'
    labels never collide."""
    if result.confusion is None:
        raise ValueError(
            f"result has no confusion matrices (task={result.task!r}): only classification "
            "results carry them"
        )
    matrices = [np.asarray(matrix, dtype=np.int64) for matrix in result.confusion]
    num_classes = matrices[0].shape[0]
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(
            f"class_names has {len(names)} names, the matrices have {num_classes} classes"
        )
    cols = min(4, len(matrices))
    rows = math.ceil(len(matrices) / cols)
    figure = Figure(figsize=(2.6 * cols + 1.6, 2.6 * rows + 1.2), layout="constrained")
    axes_grid = figure.subplots(rows, cols, squeeze=False)
    image = None
    for index, axes in enumerate(axes_grid.flat):
        if index >= len(matrices):
            axes.set_axis_off()
            continue
        col = index % cols
        bottom = index + cols >= len(matrices)
        matrix = matrices[index]
        fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
        for (i, j), count in np.ndenumerate(matrix):
            colour = "white" if fractions[i, j] > 0.5 else "black"
            axes.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
        axes.set_title(f"missing rate {result.rates[index]:g}", fontsize=9)
        axes.set_xticks(range(num_classes), names if bottom else [], fontsize=7)
        axes.set_yticks(range(num_classes), names if col == 0 else [], fontsize=7)
        _slant_x_labels(axes)
        if bottom:
            axes.set_xlabel("predicted", fontsize=8)
        if col == 0:
            axes.set_ylabel("true", fontsize=8)
    figure.colorbar(image, ax=axes_grid, shrink=0.8, label="fraction of the true class")
    if title:
        figure.suptitle(_wrap(title, 30 * cols), fontsize=10)
    return figure


def _slant_x_labels(axes: Any) -> None:
    """Slant the x tick labels by 45 degrees, each ending at its tick."""
    for label in axes.get_xticklabels():
        label.set_rotation(45)
        label.set_ha("right")
        label.set_rotation_mode("anchor")


def plot_ecce_heatmap(
    model: nn.Module,
    batch: Any,
    path: str | Path,
    *,
    conversation: int = 0,
    modality: str | None = None,
    head: int | None = None,
    title: str | None = None,
) -> Path:
    """Heatmap of the ECCE bias (L x L, real utterances only) of one conversation of `batch`
    (`.features`, `.utterance_mask`): of `modality` (default the query modality), one `head` or
    the mean over heads (None), under `title` (e.g. the model and dataset). Paper Figure 5."""
    modality = modality or model.modalities[0]
    if modality not in model.modalities:
        raise ValueError(f"modality {modality!r} is not one of the model's {model.modalities}")
    size = batch.utterance_mask.shape[0]
    if not 0 <= conversation < size:
        raise ValueError(f"conversation={conversation} is out of range for a batch of {size}")
    with _inference(model) as device:
        features = {name: x.to(device) for name, x in batch.features.items()}
        biases = model.ecce_biases(features, batch.utterance_mask.to(device))
    if modality not in biases:
        raise ValueError(f"the model has no ECCE bias (ecce={model.ecce_mode!r})")
    bias = biases[modality][conversation].float().cpu()
    if head is not None and not 0 <= head < bias.shape[0]:
        raise ValueError(f"head={head} is out of range for a bias with {bias.shape[0]} heads")
    picture = bias.mean(0) if head is None else bias[head]
    length = int(batch.utterance_mask[conversation].sum())
    picture = picture[:length, :length].numpy()
    figure = Figure(figsize=(5.0, 4.3), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(picture, cmap="viridis")
    figure.colorbar(image, ax=axes, label="bias")
    ids = getattr(batch, "ids", None)
    name = ids[conversation] if ids else f"conversation {conversation}"
    which = "mean over heads" if head is None else f"head {head}"
    heading = f"{_wrap(title)}\n" if title else ""
    axes.set_title(f"{heading}ECCE bias, {modality}, {which}\n{name}", fontsize=9)
    axes.set_xlabel("utterance j")
    axes.set_ylabel("utterance i")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    return save_png_atomic(figure, path)


def _hidden_states(
    model: nn.Module, batches: Iterable[Any], missing_rate: float, mask_seed: int, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Last-layer hidden states (N, hidden) of the real utterances and their labels (N,), with
    each conversation's evaluation mask at `missing_rate` (zero-filled, as UME scores it)."""
    states, labels = [], []
    paths = model.hidden_layer_paths(1)
    names = tuple(model.modalities)
    with capture_hidden_states(model, paths) as capture, _inference(model) as device:
        for index, batch in enumerate(batches):
            mask = batch.utterance_mask.to(device)
            present = _present(batch, index, len(names), missing_rate, mask_seed, keep).to(device)
            features = zero_fill(
                {name: x.to(device) for name, x in batch.features.items()}, present, mask, names
            )
            with capture.recording():
                model(features, mask, present)
                (hidden,) = capture.states()
            states.append(hidden[mask].float().cpu().numpy())
            labels.append(batch.labels.to(device)[mask].cpu().numpy())
    if not states:
        raise ValueError("plot_tsne needs at least one batch")
    return np.concatenate(states), np.concatenate(labels)


def _present(batch: Any, index: int, num_modalities: int, rate: float, seed: int, keep: int):
    """(B, L, M) present mask: each conversation's `conversation_mask` at `rate` (by its id)."""
    valid = batch.utterance_mask.cpu()
    ids = getattr(batch, "ids", None) or [f"batch{index}#{row}" for row in range(len(valid))]
    present = torch.zeros(*valid.shape, num_modalities, dtype=torch.bool)
    for row, conversation_id in enumerate(ids):
        rows = int(valid[row].sum())
        if rows:
            present[row, valid[row]] = conversation_mask(
                rows, num_modalities, rate, seed=seed, conversation_id=conversation_id,
                keep_at_least=min(keep, num_modalities),
            )  # fmt: skip
    return present


def plot_tsne(
    model: nn.Module,
    batches: Iterable[Any],
    path: str | Path,
    *,
    seed: int = 0,
    max_points: int = 2000,
    class_names: Sequence[str] | None = None,
    missing_rate: float = 0.0,
    mask_seed: int = 0,
    keep_at_least: int = 1,
    title: str | None = None,
) -> Path:
    """t-SNE of the last layer's fused hidden states of every real utterance in `batches`
    (captured by a forward hook at `model.hidden_layer_paths(1)[0]`) with modalities missing at
    `missing_rate` (the UME masks of `mask_seed`), coloured by class name (or by value for
    regression); at most `max_points` utterances, drawn with `seed`. Paper Figure 9."""
    from sklearn.manifold import TSNE

    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate}")
    states, labels = _hidden_states(model, batches, missing_rate, mask_seed, keep_at_least)
    if len(states) < 3:
        raise ValueError(f"plot_tsne needs at least 3 utterances, got {len(states)}")
    if len(states) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(states), max_points, replace=False))
        states, labels = states[keep], labels[keep]
    perplexity = float(min(30.0, (len(states) - 1) / 3))
    points = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(states)
    figure = tsne_figure(
        points, labels, class_names=class_names, missing_rate=missing_rate, title=title
    )
    return save_png_atomic(figure, path)


def tsne_figure(
    points: np.ndarray,
    labels: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    missing_rate: float = 0.0,
    title: str | None = None,
) -> Figure:
    """The figure of `plot_tsne` from its 2-D `points` (N, 2) and `labels` (N,): classes by
    colour with the legend beside the axes (never over a point), or a colour bar of values."""
    figure = Figure(figsize=(6.0, 4.3), layout="constrained")
    axes = figure.add_subplot()
    if np.issubdtype(labels.dtype, np.floating):
        image = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=6)
        figure.colorbar(image, ax=axes, label="label value")
    else:
        for label in np.unique(labels):
            chosen = labels == label
            name = _class_name(int(label), class_names)
            axes.scatter(points[chosen, 0], points[chosen, 1], s=6, label=name)
        figure.legend(loc="outside right upper", title="class", fontsize=7, markerscale=2)
    heading = f"{_wrap(title)}\n" if title else ""
    axes.set_title(
        f"{heading}t-SNE of last hidden states ({len(points)} utterances),\n"
        f"missing rate {missing_rate:g}",
        fontsize=9,
    )
    axes.set_xticks([])
    axes.set_yticks([])
    return figure


def _class_name(label: int, class_names: Sequence[str] | None) -> str:
    """The name of class `label`; its index where no names are known."""
    if class_names is None or len(class_names) == 0:
        return str(label)
    if not 0 <= label < len(class_names):
        raise ValueError(f"label {label} has no name: class_names has {len(class_names)} names")
    return class_names[label]
