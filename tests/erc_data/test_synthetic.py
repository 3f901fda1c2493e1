"""erc_data.synthetic: shaped like the real sets, deterministic, with the planted properties."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score

from erc_data import DataError
from erc_data.synthetic import iemocap_like, mosi_like

SMALL = {"text": 16, "audio": 8, "video": 16}


def test_iemocap_like_shape() -> None:
    ds = iemocap_like(6)
    assert len(ds) == 151
    assert max(len(c) for c in ds) == 110
    assert ds.modality_dims == {"text": 1024, "audio": 512, "video": 1024}
    assert ds.num_classes == 6
    assert set(ds.label_counts()) == set(range(6))
    assert ds.speaker_names == ("F", "M")
    assert len(ds.split()[2]) == len(ds.split(fold=5)[2]) > 0
    assert 35 <= ds.num_utterances / len(ds) <= 60
    assert ds[0].features["text"].dtype == np.float32


def test_mosi_like_shape() -> None:
    ds = mosi_like()
    assert len(ds) == 93
    assert max(len(c) for c in ds) == 63
    assert [len(s) for s in ds.split()] == [52, 10, 31]
    y = np.concatenate([c.labels for c in ds])
    assert y.dtype == np.float32
    assert y.min() >= -3
    assert y.max() <= 3
    assert (y == 0).any()
    assert ds.task == "regression"
    assert ds.num_classes is None


def test_deterministic_by_seed() -> None:
    a = iemocap_like(4, seed=4, num_dialogues=5, dims={"text": 3})
    b = iemocap_like(4, seed=4, num_dialogues=5, dims={"text": 3})
    c = iemocap_like(4, seed=5, num_dialogues=5, dims={"text": 3})
    assert [x.utterance_ids for x in a] == [x.utterance_ids for x in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.features["text"], y.features["text"])
        np.testing.assert_array_equal(x.labels, y.labels)
    assert not np.array_equal(a[0].features["text"][:1], c[0].features["text"][:1])


def test_bad_arguments() -> None:
    with pytest.raises(DataError, match="num_classes"):
        iemocap_like(1)
    with pytest.raises(DataError, match="num_dialogues"):
        mosi_like(num_dialogues=2)


def _design(ds, modality: str, context: bool):
    """Utterance features, optionally with the mean of its +-3 neighbours (itself excluded)."""
    xs, ys = [], []
    for conv in ds:
        x = conv.features[modality].astype(np.float64)
        if context:
            n = len(x)
            total = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
            lo, hi = np.maximum(np.arange(n) - 3, 0), np.minimum(np.arange(n) + 4, n)
            count = np.maximum(hi - lo - 1, 1)[:, None]
            x = np.hstack([x, (total[hi] - total[lo] - x) / count])
        xs.append(x)
        ys.append(conv.labels)
    return np.vstack(xs), np.concatenate(ys)


def _waf(ds, modality: str, context: bool = False) -> float:
    train, _, test = ds.split(fold=5, val_fraction=0.0)
    clf = LogisticRegression(max_iter=300).fit(*_design(train, modality, context))
    x, y = _design(test, modality, context)
    return f1_score(y, clf.predict(x), average="weighted")


@pytest.fixture(scope="module")
def planted():
    return iemocap_like(4, seed=0, dims=SMALL)


def test_neighbours_carry_the_label(planted) -> None:
    alone, with_context = _waf(planted, "text"), _waf(planted, "text", context=True)
    assert with_context > alone + 0.05


def test_text_is_the_strongest_modality(planted) -> None:
    text = _waf(planted, "text")
    assert text > _waf(planted, "audio") + 0.03
    assert text > _waf(planted, "video") + 0.03


def test_mosi_like_text_beats_audio() -> None:
    ds = mosi_like(seed=0, dims={"text": 16, "audio": 16})
    train, _, test = ds.split()

    def r2(m: str) -> float:
        x, y = _design(train, m, False)
        xt, yt = _design(test, m, False)
        return Ridge().fit(x, y).score(xt, yt)

    assert r2("text") > r2("audio") > 0
