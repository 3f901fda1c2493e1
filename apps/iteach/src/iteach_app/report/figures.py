"""Figures of a trained ITEACH-Net: confusion matrices per missing rate, the ECCE bias of one
conversation (paper Figure 5), and a t-SNE of the last hidden states (paper Figure 9).

Drawn with matplotlib's Agg canvas (no display needed); every PNG is written atomically.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from iteach_app.io import atomic_write_bytes
from its_distill import capture_hidden_states
from missing_modality import UMEResult


def save_png_atomic(figure: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Render ``figure`` to ``path`` as PNG, written atomically."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


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
    result: UMEResult, path: str | Path, class_names: Sequence[str] | None = None
) -> Path:
    """One confusion matrix per missing rate of a classification `result` (rows = true class,
    colour = row-normalised fraction, text = count); saved as a PNG at `path`."""
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
    figure = Figure(figsize=(3.0 * cols, 2.9 * rows), layout="constrained")
    axes_grid = figure.subplots(rows, cols, squeeze=False)
    for index, axes in enumerate(axes_grid.flat):
        if index >= len(matrices):
            axes.set_axis_off()
            continue
        matrix = matrices[index]
        fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
        for (i, j), count in np.ndenumerate(matrix):
            colour = "white" if fractions[i, j] > 0.5 else "black"
            axes.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
        axes.set_title(f"missing rate {result.rates[index]:g}", fontsize=9)
        axes.set_xticks(range(num_classes), names, fontsize=7, rotation=45)
        axes.set_yticks(range(num_classes), names, fontsize=7)
        axes.set_xlabel("predicted", fontsize=8)
        axes.set_ylabel("true", fontsize=8)
    return save_png_atomic(figure, path)


def plot_ecce_heatmap(
    model: nn.Module,
    batch: Any,
    path: str | Path,
    *,
    conversation: int = 0,
    modality: str | None = None,
    head: int | None = None,
) -> Path:
    """Heatmap of the ECCE bias (L x L, real utterances only) of one conversation of `batch`
    (`.features`, `.utterance_mask`): of `modality` (default the query modality), one `head` or
    the mean over heads (None). Paper Figure 5."""
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
    axes.set_title(f"ECCE bias, {modality}, {which}\n{name}", fontsize=9)
    axes.set_xlabel("utterance j")
    axes.set_ylabel("utterance i")
    return save_png_atomic(figure, path)


def _hidden_states(model: nn.Module, batches: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Last-layer hidden states (N, hidden) of the real utterances and their labels (N,)."""
    states, labels = [], []
    paths = model.hidden_layer_paths(1)
    with capture_hidden_states(model, paths) as capture, _inference(model) as device:
        for batch in batches:
            mask = batch.utterance_mask.to(device)
            with capture.recording():
                model({name: x.to(device) for name, x in batch.features.items()}, mask)
                (hidden,) = capture.states()
            states.append(hidden[mask].float().cpu().numpy())
            labels.append(batch.labels.to(device)[mask].cpu().numpy())
    if not states:
        raise ValueError("plot_tsne needs at least one batch")
    return np.concatenate(states), np.concatenate(labels)


def plot_tsne(
    model: nn.Module,
    batches: Iterable[Any],
    path: str | Path,
    *,
    seed: int = 0,
    max_points: int = 2000,
) -> Path:
    """t-SNE of the last layer's fused hidden states of every real utterance in `batches`
    (captured by a forward hook at `model.hidden_layer_paths(1)[0]`), coloured by label; at most
    `max_points` utterances, drawn with `seed`. Paper Figure 9."""
    from sklearn.manifold import TSNE

    states, labels = _hidden_states(model, batches)
    if len(states) < 3:
        raise ValueError(f"plot_tsne needs at least 3 utterances, got {len(states)}")
    if len(states) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(states), max_points, replace=False))
        states, labels = states[keep], labels[keep]
    perplexity = float(min(30.0, (len(states) - 1) / 3))
    points = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(states)
    figure = Figure(figsize=(5.0, 4.3), layout="constrained")
    axes = figure.add_subplot()
    if np.issubdtype(labels.dtype, np.floating):
        image = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=6)
        figure.colorbar(image, ax=axes, label="label")
    else:
        for label in np.unique(labels):
            chosen = labels == label
            axes.scatter(points[chosen, 0], points[chosen, 1], s=6, label=str(label))
        axes.legend(title="label", fontsize=7, markerscale=2)
    axes.set_title(f"t-SNE of last hidden states ({len(states)} utterances)", fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])
    return save_png_atomic(figure, path)
