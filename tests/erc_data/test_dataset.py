"""ERCDataset: splits, seeded validation, subsets, and its checks."""

import numpy as np
import pytest

from erc_data import Conversation, DataError, ERCDataset
from erc_data.synthetic import iemocap_like, mosi_like


@pytest.fixture(scope="module")
def ds() -> ERCDataset:
    return iemocap_like(4, seed=0, num_dialogues=40, dims={"text": 3}, max_length=12)


def _ids(d: ERCDataset) -> set[str]:
    return {c.id for c in d}


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_fold_partitions(ds: ERCDataset, fold: int) -> None:
    train, val, test = ds.split(fold=fold, val_fraction=0.2, seed=0)
    assert _ids(test) == {c.id for c in ds if int(c.id[4]) == fold}
    assert not (_ids(train) & _ids(val))
    assert not ((_ids(train) | _ids(val)) & _ids(test))
    assert _ids(train) | _ids(val) | _ids(test) == _ids(ds)
    assert len(val) == round(0.2 * (len(train) + len(val)))


def test_validation_is_seeded(ds: ERCDataset) -> None:
    a = ds.split(fold=2, seed=7)[1]
    b = ds.split(fold=2, seed=7)[1]
    c = ds.split(fold=2, seed=8)[1]
    assert [x.id for x in a] == [x.id for x in b]
    assert _ids(a) != _ids(c)
    assert len(ds.split(fold=2, val_fraction=0.0)[1]) == 0
    assert len(ds.split(fold=2, val_fraction=0.001)[1]) == 1


def test_release_split_and_errors(ds: ERCDataset) -> None:
    assert _ids(ds.split()[2]) == _ids(ds.split(fold=5)[2])
    with pytest.raises(DataError, match="fold must be one of"):
        ds.split(fold=6)
    with pytest.raises(DataError, match="val_fraction"):
        ds.split(val_fraction=1.0)


def test_no_split_info_draws_test_and_val() -> None:
    plain = mosi_like(seed=0, num_dialogues=20, dims={"text": 2})
    plain.release_split = {}
    train, val, test = plain.split(val_fraction=0.25, seed=3)
    assert (len(train), len(val), len(test)) == (11, 4, 5)
    assert _ids(train) | _ids(val) | _ids(test) == _ids(plain)


def test_subset_and_getitem(ds: ERCDataset) -> None:
    sub = ds.subset([5, 2])
    assert [c.id for c in sub] == [ds[5].id, ds[2].id]
    assert sub.modality_dims == ds.modality_dims
    assert sub.folds == ds.folds
    assert sub.num_utterances == len(ds[5]) + len(ds[2])
    with pytest.raises(DataError, match="out of range"):
        ds.subset([99])
    assert "IEMOCAPLike4" in repr(ds)


def test_conversation_checks() -> None:
    with pytest.raises(DataError, match="'c' is empty"):
        Conversation("c", [], np.zeros(0, np.int64), np.zeros(0, np.int64), {})
    with pytest.raises(
        DataError, match=r"features\['text'\] has shape \(3, 2\), expected \(2, D\)"
    ):
        Conversation("c", ["a", "b"], np.zeros(2, np.int64), np.zeros(2, np.int64),
                     {"text": np.zeros((3, 2))})  # fmt: skip
    conv = Conversation("c", ["a"], np.zeros(1, np.int64), np.zeros(1, np.int64),
                        {"text": np.zeros((1, 2))})  # fmt: skip
    with pytest.raises(DataError, match="'text' dim 2, expected 3"):
        ERCDataset([conv], name="x", task="classification", num_classes=2,
                   modality_dims={"text": 3})  # fmt: skip
    with pytest.raises(DataError, match="task must be"):
        ERCDataset([conv], name="x", task="ranking", num_classes=2, modality_dims={"text": 2})
    regression = ERCDataset([conv], name="x", task="regression", num_classes=None,
                            modality_dims={"text": 2})  # fmt: skip
    with pytest.raises(DataError, match="label_counts needs classes"):
        regression.label_counts()
