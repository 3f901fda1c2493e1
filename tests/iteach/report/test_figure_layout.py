"""Every figure keeps its text inside the canvas, its legend off the data, its axes most of the
figure, and neighbouring panels' labels apart (rendered with Agg, checked by bounding boxes)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from iteach_app.report import figures
from missing_modality import UMEResult, ume_figure

LONG_NAME = "ITEACH-Net (ITS), attention-3 teacher / nas-4 student on synthetic-iemocap4"
LONG_TITLE = "UME on IEMOCAPSix fold 1 (text, audio, video)\nmodel selected on the validation split"
SIX = ["happy", "sad", "neutral", "angry", "excited", "frustrated"]


def _render(figure: Figure):
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _texts(figure: Figure) -> list[Text]:
    """The drawn, non-empty texts: titles, labels, tick labels inside the view (matplotlib lays
    out the others but never draws them), legend entries, annotations."""
    ticks, drawn = set(), []
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = (tick.label1, tick.label2)
                ticks.update(map(id, labels))
                if low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    drawn += [label for label in labels if label.get_visible()]
    found = [t for t in figure.findobj(Text) if id(t) not in ticks and t.get_visible()]
    return [t for t in found + drawn if t.get_text().strip()]


def _assert_layout(figure: Figure, *, min_axes_fraction: float) -> None:
    renderer = _render(figure)
    width, height = figure.bbox.width, figure.bbox.height
    for text in _texts(figure):
        box = text.get_window_extent(renderer)
        if box.width == 0:  # ticks outside the view are laid out but never drawn
            continue
        inside = box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1
        assert inside, f"{text.get_text()!r} runs off the figure ({box} vs {width}x{height})"
    data_axes = [a for a in figure.axes if a.get_label() != "<colorbar>" and a.axison]
    area = sum(a.get_position().width * a.get_position().height for a in data_axes)
    assert area >= min_axes_fraction, f"the axes keep only {area:.0%} of the figure"
    for legend in figure.legends + [a.get_legend() for a in data_axes if a.get_legend()]:
        box = legend.get_window_extent(renderer)
        for axes in data_axes:
            assert not box.overlaps(axes.get_window_extent(renderer)), "the legend covers data"


def _assert_panels_apart(figure: Figure) -> None:
    """No tick label, title or axis label of one panel overlaps one of another panel."""
    renderer = _render(figure)
    boxes = []
    for axes in figure.axes:
        texts = [*axes.get_xticklabels(), *axes.get_yticklabels(), axes.title]
        texts += [axes.xaxis.label, axes.yaxis.label]
        boxes.append(
            [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
        )
    for (i, first), (j, second) in itertools.combinations(enumerate(boxes), 2):
        for a, b in itertools.product(first, second):
            assert not a.overlaps(b), f"panel {i}'s and panel {j}'s labels collide"


def _classification(num_classes: int = 6, rates=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)):
    rng = np.random.default_rng(0)
    return UMEResult(
        rates=rates,
        per_rate=[{"waf": 0.6 - r / 3, "acc": 0.62 - r / 3} for r in rates],
        realised=rates,
        confusion=[rng.integers(0, 40, (num_classes, num_classes)).tolist() for _ in rates],
    )


@pytest.mark.parametrize("curves", [1, 3])
def test_ume_figure_keeps_the_axes_and_the_title(curves: int) -> None:
    results = {f"{LONG_NAME} #{k}": _classification() for k in range(curves)}
    figure = ume_figure(results, title=LONG_TITLE)
    _assert_layout(figure, min_axes_fraction=0.45)
    (axes,) = figure.axes
    assert axes.get_ylabel() == "weighted F1"
    assert LONG_TITLE.splitlines()[-1] in axes.get_title().replace("\n", " ")


def test_confusion_panels_keep_their_labels_apart() -> None:
    figure = figures.confusion_figure(_classification(), SIX, title=LONG_NAME)
    _assert_layout(figure, min_axes_fraction=0.35)
    _assert_panels_apart(figure)


@pytest.mark.parametrize("regression", [False, True])
def test_tsne_legend_beside_the_points(regression: bool) -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 2))
    labels = rng.normal(size=300) if regression else rng.integers(0, 6, 300)
    figure = figures.tsne_figure(points, labels, class_names=SIX, title=LONG_NAME)
    _assert_layout(figure, min_axes_fraction=0.4)


def test_ecce_heatmap_keeps_its_title_inside(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from tests.iteach.report.conftest import figure_batch, figure_model

    drawn: list[Figure] = []
    monkeypatch.setattr(figures, "save_png_atomic", lambda figure, path: drawn.append(figure))
    torch.manual_seed(0)
    figures.plot_ecce_heatmap(figure_model(), figure_batch(0), tmp_path / "x.png", title=LONG_NAME)
    _assert_layout(drawn[0], min_axes_fraction=0.35)


@pytest.mark.parametrize("groups", [1, 3])
def test_compare_figure_keeps_its_legend_off_the_curves(groups: int) -> None:
    """compare's and demo's plot: legend below the axes, the metric named in words."""
    from iteach_app.report.compare import Group, compare_figure

    rows = [
        Group(f"{LONG_NAME} #{k}", "synthetic-iemocap4", results=[_classification()] * 2)
        for k in range(groups)
    ]
    figure = compare_figure(rows, "waf", title=LONG_TITLE)
    _assert_layout(figure, min_axes_fraction=0.45)
    (axes,) = figure.axes
    assert axes.get_ylabel() == "weighted F1"


ROLE_LAYERS = list(itertools.product(("teacher", "student"), range(3)))


def test_training_figure_keeps_legends_off_the_curves_and_whole_epochs() -> None:
    from iteach_app.report.training_curves import training_figure

    history = [
        {
            "epoch": epoch,
            "train_task_loss": 1.2 / epoch,
            "train_distill_loss": 0.5 / epoch,
            **{f"diag_{role}_norm_{layer}": 10.0 + layer + epoch for role, layer in ROLE_LAYERS},
            "diag_task_grad_norm": 2.0,
            "diag_distill_grad_norm": 0.3,
        }
        for epoch in (1, 2)
    ]
    figure = training_figure(history, title=LONG_NAME)
    _assert_layout(figure, min_axes_fraction=0.3)
    for axes in figure.axes:
        low, high = axes.get_xlim()
        ticks = [t for t in axes.get_xticks() if low <= t <= high]
        assert ticks, "no epoch ticks"
        assert all(float(t).is_integer() for t in ticks), f"epoch ticks {ticks}"
