"""Metrics equal scikit-learn's on the flattened valid positions of padded batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from missing_modality import (
    accuracy,
    binary_accuracy,
    binary_weighted_f1,
    confusion_matrix,
    mean_absolute_error,
    weighted_f1,
)


def padded(seed: int, num_classes: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    size, length = int(torch.randint(1, 6, (1,), generator=generator)), 11
    lengths = torch.randint(1, length + 1, (size,), generator=generator)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    labels = torch.randint(0, num_classes, (size, length), generator=generator)
    pred = torch.where(
        torch.rand(size, length, generator=generator) < 0.6,
        labels,
        torch.randint(0, num_classes, (size, length), generator=generator),
    )
    return pred, labels.masked_fill(~mask, -100), mask


def sklearn_reference(function, pred, truth, mask, **kwargs) -> float:
    flat_pred = [int(p) for p, m in zip(pred.flatten(), mask.flatten(), strict=True) if m]
    flat_labels = [int(t) for t, m in zip(truth.flatten(), mask.flatten(), strict=True) if m]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(flat_labels, flat_pred, **kwargs)


@pytest.mark.parametrize("seed", range(6))
def test_classification_metrics_match_sklearn(seed: int) -> None:
    pred, labels, mask = padded(seed)
    expected = sklearn_reference(sk.f1_score, pred, labels, mask, average="weighted")
    assert weighted_f1(pred, labels, mask) == pytest.approx(expected, abs=1e-12)
    assert accuracy(pred, labels, mask) == pytest.approx(
        sklearn_reference(sk.accuracy_score, pred, labels, mask), abs=1e-12
    )
    matrix = confusion_matrix(pred, labels, mask, num_classes=5)
    reference = sklearn_reference(sk.confusion_matrix, pred, labels, mask, labels=range(5))
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, reference)
    assert matrix.sum() == int(mask.sum())
    assert weighted_f1(pred.numpy(), labels.numpy(), mask.numpy()) == weighted_f1(
        pred, labels, mask
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(4))
def test_regression_metrics_match_sklearn(dtype: torch.dtype, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(4, 9, generator=generator) < 0.7
    mask[0, 0] = True
    labels = (torch.randint(-6, 7, (4, 9), generator=generator) / 2).to(dtype)
    labels = labels.masked_fill(~mask, 0.0)
    labels[0, 0] = 0.0
    values = (labels + torch.randn(4, 9, generator=generator, dtype=dtype)).masked_fill(~mask, 9.0)
    rows = [
        (float(v), float(t))
        for v, t, m in zip(values.flatten(), labels.flatten(), mask.flatten(), strict=True)
        if m
    ]
    non_zero = [(v > 0, t > 0) for v, t in rows if t != 0]
    truth, guess = [t for _, t in non_zero], [v for v, _ in non_zero]
    assert binary_weighted_f1(values, labels, mask) == pytest.approx(
        sk.f1_score(truth, guess, average="weighted"), abs=1e-12
    )
    assert binary_accuracy(values, labels, mask) == pytest.approx(
        sk.accuracy_score(truth, guess), abs=1e-12
    )
    expected_mae = sum(abs(v - t) for v, t in rows) / len(rows)
    assert mean_absolute_error(values, labels, mask) == pytest.approx(expected_mae, rel=1e-6)
    non_zero_mae = [abs(v - t) for v, t in rows if t != 0]
    assert mean_absolute_error(values, labels, mask, exclude_zero=True) == pytest.approx(
        sum(non_zero_mae) / len(non_zero_mae), rel=1e-6
    )


def test_zero_labels_are_dropped_from_binary_metrics() -> None:
    labels = torch.tensor([0.0, 1.0, -2.0, 0.0])
    values = torch.tensor([-5.0, 0.5, -0.1, 7.0])
    assert binary_accuracy(values, labels) == 1.0
    assert binary_weighted_f1(values, labels) == 1.0


def test_errors() -> None:
    pred, labels, mask = padded(0)
    with pytest.raises(ValueError, match="does not match labels shape"):
        accuracy(pred[:, :3], labels, mask)
    with pytest.raises(ValueError, match="mask selects nothing"):
        weighted_f1(pred, labels, torch.zeros_like(mask))
    with pytest.raises(ValueError, match="mask must be bool"):
        weighted_f1(pred, labels, mask.long())
    with pytest.raises(ValueError, match="exactly 0"):
        binary_weighted_f1(torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        confusion_matrix(pred, labels, mask, num_classes=3)
    with pytest.raises(TypeError, match="torch tensor or numpy array"):
        accuracy([1, 2], [1, 2])  # type: ignore[arg-type]
