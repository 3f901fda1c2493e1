"""Figures: confusion matrices per rate, the ECCE heatmap and the t-SNE write non-empty PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from iteach_app.report.figures import plot_confusion_per_rate, plot_ecce_heatmap, plot_tsne
from missing_modality import UMEResult
from tests.iteach.report.conftest import figure_batch, figure_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 1000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_confusion_per_rate(tmp_path: Path) -> None:
    result = UMEResult(
        rates=(0.0, 0.3, 0.7),
        per_rate=[{"waf": 0.7, "acc": 0.7}] * 3,
        realised=(0.0, 0.3, 0.66),
        confusion=[[[5, 1, 0], [2, 4, 1], [0, 0, 3]]] * 3,
    )
    path = plot_confusion_per_rate(result, tmp_path / "out" / "confusion.png", ["a", "b", "c"])
    _assert_png(path)
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_per_rate(result, tmp_path / "bad.png", ["a"])
    regression = UMEResult(
        rates=(0.0,), per_rate=[{"mae": 1.0}], realised=(0.0,), task="regression"
    )
    with pytest.raises(ValueError, match="confusion"):
        plot_confusion_per_rate(regression, tmp_path / "bad.png")


@pytest.mark.parametrize("head", [None, 1])
def test_ecce_heatmap(tmp_path: Path, head: int | None) -> None:
    model = figure_model().train()
    path = plot_ecce_heatmap(
        model, figure_batch(0), tmp_path / "ecce.png", conversation=1, head=head
    )
    _assert_png(path)
    assert model.training  # the mode is restored


def test_ecce_heatmap_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no ECCE bias"):
        plot_ecce_heatmap(figure_model(ecce="none"), figure_batch(0), tmp_path / "x.png")
    with pytest.raises(ValueError, match="conversation=5"):
        plot_ecce_heatmap(figure_model(), figure_batch(0), tmp_path / "x.png", conversation=5)
    with pytest.raises(ValueError, match="'video'"):
        plot_ecce_heatmap(figure_model(), figure_batch(0), tmp_path / "x.png", modality="video")


@pytest.mark.parametrize("regression", [False, True])
def test_tsne(tmp_path: Path, regression: bool) -> None:
    batches = [figure_batch(1, regression=regression), figure_batch(2, regression=regression)]
    path = plot_tsne(figure_model(), batches, tmp_path / "tsne.png", max_points=20)
    _assert_png(path)
