"""The numpy weighted F1, accuracy and confusion matrix equal scikit-learn's exactly, on random
labels with classes absent from either side, bools (the binary metrics) and one class."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from missing_modality import accuracy, binary_weighted_f1, confusion_matrix, weighted_f1


@pytest.mark.parametrize("seed", range(25))
def test_classification_metrics_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 300))
    classes = int(rng.integers(1, 8))
    labels = rng.integers(0, classes, size)
    pred = rng.integers(0, int(rng.integers(1, 9)), size)  # may name classes labels lack
    f1 = sk.f1_score(labels, pred, average="weighted", zero_division=0)
    assert weighted_f1(pred, labels) == f1
    assert accuracy(pred, labels) == sk.accuracy_score(labels, pred)
    count = int(max(labels.max(), pred.max())) + 1
    expected = sk.confusion_matrix(labels, pred, labels=np.arange(count))
    got = confusion_matrix(pred, labels, num_classes=count)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", range(10))
def test_binary_weighted_f1_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=200).round(1)
    values = rng.normal(size=200) + (0.0 if seed % 3 else 5.0)  # sometimes all positive
    keep = labels != 0
    expected = sk.f1_score(labels[keep] > 0, values[keep] > 0, average="weighted", zero_division=0)
    assert binary_weighted_f1(values, labels) == expected


def test_metrics_module_does_not_import_sklearn() -> None:
    import subprocess
    import sys

    code = "import sys, missing_modality.metrics; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
