"""What a figure says: model and dataset in titles and legends, class names, colour bars, the
t-SNE's missing rate (read from the matplotlib figure before it is rendered)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from iteach_app.config import resolve
from iteach_app.report import figures
from iteach_app.report.labels import data_label, figure_title, model_label
from missing_modality import UMEResult
from tests.iteach.report.conftest import figure_batch, figure_model

NAMES = ("joy", "anger", "calm")


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """The figures the plotting functions render, kept for inspection."""
    kept: list[Figure] = []
    original = figures.save_png_atomic

    def keep(figure: Figure, path, dpi: int = 120) -> Path:
        kept.append(figure)
        return original(figure, path, dpi)

    monkeypatch.setattr(figures, "save_png_atomic", keep)
    return kept


def _texts(figure: Figure) -> str:
    parts = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(p for p in parts if p)


def test_labels_name_the_model_and_data_not_the_folder() -> None:
    its = resolve(overrides={"synthetic": "iemocap4"}, source="test")
    pre = resolve(
        overrides={"synthetic": "mosi", "framework": "pre", "student": "nas"}, source="test"
    )
    assert model_label(its) == "ITEACH-Net (ITS), attention-3 teacher / nas-4 student"
    assert model_label(pre) == "PRE, nas-4"
    assert data_label(its) == "synthetic-iemocap4"
    # A baseline trains alone: never titled "ITEACH-Net (ITS), ae-0".
    baseline = resolve(overrides={"synthetic": "iemocap4", "model": "ae"}, source="test")
    assert model_label(baseline) == "AE"
    assert figure_title(baseline).splitlines() == ["AE", "on synthetic-iemocap4"]
    assert figure_title(its).splitlines() == [model_label(its), "on synthetic-iemocap4"]


def test_confusion_has_class_names_colour_bar_and_title(tmp_path, drawn) -> None:
    result = UMEResult(
        rates=(0.0, 0.5),
        per_rate=[{"waf": 0.7, "acc": 0.7}] * 2,
        realised=(0.0, 0.5),
        confusion=[[[5, 1, 0], [2, 4, 1], [0, 0, 3]]] * 2,
    )
    figures.plot_confusion_per_rate(result, tmp_path / "c.png", NAMES, title="Model X on Y")
    (figure,) = drawn
    text = _texts(figure)
    assert all(name in text for name in NAMES)
    assert "Model X on Y" in text
    assert "fraction of the true class" in text  # the colour bar's label
    assert len(figure.axes) == 3  # two matrices and the colour bar


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_tsne_states_rate_and_names_classes(tmp_path, drawn, rate: float) -> None:
    figures.plot_tsne(
        figure_model(), [figure_batch(1), figure_batch(2)], tmp_path / "t.png", class_names=NAMES,
        missing_rate=rate, title="Model X\non Y",
    )  # fmt: skip
    text = _texts(drawn[0])
    assert f"missing rate {rate:g}" in text
    assert "Model X" in text
    legend = [t.get_text() for t in drawn[0].legends[0].get_texts()]
    assert set(legend) <= set(NAMES)
    assert legend


def test_tsne_masks_change_the_states_only_when_missing() -> None:
    model, batches = figure_model(), [figure_batch(1)]
    full, _ = figures._hidden_states(model, batches, 0.0, 0, 1)
    again, _ = figures._hidden_states(model, batches, 0.0, 0, 1)
    masked, _ = figures._hidden_states(model, batches, 0.5, 0, 1)
    assert torch.equal(torch.from_numpy(full), torch.from_numpy(again))
    assert not torch.allclose(torch.from_numpy(full), torch.from_numpy(masked))


def test_tsne_refuses_a_bad_rate_or_too_few_names(tmp_path) -> None:
    with pytest.raises(ValueError, match="missing_rate"):
        figures.plot_tsne(figure_model(), [figure_batch(1)], tmp_path / "t.png", missing_rate=1.0)
    with pytest.raises(ValueError, match="has no name"):
        figures.plot_tsne(figure_model(), [figure_batch(1)], tmp_path / "t.png", class_names=["a"])
