"""``standardize = standard``: every split z-scored with the training split's statistics."""

from __future__ import annotations

import numpy as np

from iteach_app.data import build_splits


def _rows(part, modality: str) -> np.ndarray:
    return np.concatenate([c.features[modality] for c in part])


def test_standardize_uses_training_statistics_for_every_split(make_config) -> None:
    plain = build_splits(make_config())
    scaled = build_splits(make_config(standardize="standard"))
    train = _rows(plain.train, "text")
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(_rows(scaled.train, "text").mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(_rows(scaled.train, "text").std(axis=0), 1.0, atol=1e-4)
    expected = (_rows(plain.test, "text") - mean) / std
    np.testing.assert_allclose(_rows(scaled.test, "text"), expected, rtol=1e-4, atol=1e-5)
    assert [c.id for c in scaled.val] == [c.id for c in plain.val]
