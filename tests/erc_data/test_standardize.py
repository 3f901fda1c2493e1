"""Standardizer: statistics from the training split only, vs a plain numpy reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from erc_data import DataError, Standardizer
from erc_data.synthetic import iemocap_like


def _data():
    ds = iemocap_like(4, num_dialogues=12, dims={"text": 5, "audio": 3}, seed=1)
    return ds.split(val_fraction=0.2, seed=0)


def test_fit_matches_numpy_on_train_and_ignores_val_and_test() -> None:
    train, val, test = _data()
    scaler = Standardizer().fit(train)
    for m in ("text", "audio"):
        x = np.concatenate([c.features[m] for c in train]).astype(np.float64)
        np.testing.assert_allclose(scaler.mean[m], x.mean(0), rtol=1e-10)
        np.testing.assert_allclose(scaler.std[m], x.std(0), rtol=1e-10)
    before = {k: v.copy() for k, v in scaler.state_dict().items()}
    scaled_val, scaled_test = scaler.transform_dataset(val), scaler.transform_dataset(test)
    assert scaled_val[0].features["text"].dtype == np.float32
    for k, v in scaler.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    x = np.concatenate([c.features["text"] for c in scaler.transform_dataset(train)])
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
    assert not np.allclose(scaled_test[0].features["text"], test[0].features["text"])


def test_inputs_untouched_and_state_round_trip() -> None:
    train, val, _ = _data()
    original = val[0].features["audio"].copy()
    scaler = Standardizer().fit(train)
    out = scaler.transform(val[0])
    np.testing.assert_array_equal(val[0].features["audio"], original)
    again = Standardizer.from_state_dict(scaler.state_dict()).transform(val[0])
    np.testing.assert_allclose(again.features["audio"], out.features["audio"], rtol=1e-6)
    assert all(isinstance(v, np.ndarray) for v in scaler.state_dict().values())
    none = Standardizer("none").fit(train)
    assert none.transform(val[0]) is val[0]
    assert Standardizer.from_state_dict(none.state_dict()).mode == "none"


def test_absent_rows_stay_out_of_the_statistics_and_stay_zero() -> None:
    train, _, _ = _data()
    conv = train[0]
    conv.present["audio"] = np.arange(len(conv)) % 2 == 0
    conv.features["audio"][~conv.present["audio"]] = 0.0
    scaler = Standardizer().fit(train)
    rows = [c.features["audio"][c.present.get("audio", np.ones(len(c), bool))] for c in train]
    np.testing.assert_allclose(
        scaler.mean["audio"], np.concatenate(rows).astype(np.float64).mean(0), rtol=1e-10
    )
    out = scaler.transform(conv).features["audio"]
    assert (out[~conv.present["audio"]] == 0).all()


def test_constant_modality_warns_and_bad_statistics_raise() -> None:
    train, _, _ = _data()
    for c in train:
        c.features["audio"][:] = 2.0
    with pytest.warns(UserWarning, match="'audio' is constant .* all zeros after centring"):
        scaler = Standardizer().fit(train)
    assert (scaler.transform(train[0]).features["audio"] == 0).all()
    train[0].features["text"][0, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="modality 'text' has NaN or inf"):
            Standardizer().fit(train)
    with pytest.raises(DataError, match="mode must be one of"):
        Standardizer("zscore")
    with pytest.raises(DataError, match="not fitted"):
        Standardizer().transform(train[1])
    with pytest.raises(DataError, match=r"'text\.mean'"):
        Standardizer.from_state_dict({"text.mean": np.array([np.nan])})
