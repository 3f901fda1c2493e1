"""load_gcnet on the real files in ../shared/data: counts, labels and splits as the README gives."""

from pathlib import Path

import numpy as np
import pytest

from erc_data import ERCDataset, load_gcnet

TEXT = {"text": "minilm-384-UTT"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("erc_cache")


@pytest.fixture(scope="module")
def four(shared_data: Path, cache: Path) -> ERCDataset:
    return load_gcnet(shared_data / "IEMOCAP", "IEMOCAPFour", TEXT, cache_dir=cache)


def test_iemocap_four(four: ERCDataset) -> None:
    assert len(four) == 151
    assert four.num_utterances == 5531
    assert four.label_counts() == {0: 1636, 1: 1084, 2: 1708, 3: 1103}
    assert four.task == "classification"
    assert four.num_classes == 4
    assert four.modality_dims == {"text": 384}
    assert four.modalities == ("text",)
    assert max(len(c) for c in four) == 110
    assert four.speaker_names == ("F", "M")
    conv = four[0]
    assert conv.labels.dtype == np.int64
    assert conv.features["text"].dtype == np.float32
    # the utterance's own speaker letter sits in its id: Ses01F_impro01_F000 -> F
    for c in four:
        letters = [u.rsplit("_", 1)[1][0] for u in c.utterance_ids]
        assert [four.speaker_names[s] for s in c.speakers] == letters
    norms = np.linalg.norm(conv.features["text"], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-3)  # MiniLM vectors are L2-normalised


def test_iemocap_feature_rows_are_the_files(four: ERCDataset, shared_data: Path) -> None:
    folder = shared_data / "IEMOCAP" / "features" / "minilm-384-UTT"
    conv = four[17]
    for k in (0, len(conv) - 1):
        expected = np.load(folder / f"{conv.utterance_ids[k]}.npy")
        np.testing.assert_array_equal(conv.features["text"][k], expected)


def test_iemocap_folds(four: ERCDataset) -> None:
    train, val, test = four.split(fold=5)
    assert len(test) == 31
    assert all(c.id[4] == "5" for c in test)
    assert len(train) + len(val) == 120
    assert len(val) > 0
    assert all(c.id[4] != "5" for c in [*train, *val])
    default = four.split()
    assert {c.id for c in default[2]} == {c.id for c in test}  # release testVid = Session 5
    tests = [four.split(fold=k)[2] for k in range(1, 6)]
    assert sum(len(t) for t in tests) == 151
    assert {c.id for t in tests for c in t} == {c.id for c in four}


def test_iemocap_six(shared_data: Path, cache: Path) -> None:
    six = load_gcnet(shared_data, "IEMOCAPSix", TEXT, cache_dir=cache)
    assert len(six) == 151
    assert six.num_utterances == 7433
    assert six.label_counts() == {0: 648, 1: 1084, 2: 1708, 3: 1103, 4: 1041, 5: 1849}


def test_mosi_both_feature_sets(shared_data: Path, cache: Path) -> None:
    features = {"text": "minilm-384-UTT", "audio": "covarep73-UTT"}
    mosi = load_gcnet(shared_data / "CMUMOSI", "CMUMOSI", features, cache_dir=cache)
    assert len(mosi) == 93
    assert mosi.num_utterances == 2199
    assert mosi.modality_dims == {"text": 384, "audio": 73}
    assert mosi.task == "regression"
    assert mosi.num_classes is None
    labels = np.concatenate([c.labels for c in mosi])
    assert labels.dtype == np.float32
    assert labels.min() >= -3
    assert labels.max() <= 3
    assert int((labels == 0).sum()) == 96
    assert mosi.speaker_names == ("",)
    assert all((c.speakers == 0).all() for c in mosi)
    train, val, test = mosi.split(val_fraction=0.3, seed=5)  # the release's own val is kept
    assert [len(train), len(val), len(test)] == [52, 10, 31]
    assert [s.num_utterances for s in (train, val, test)] == [1284, 229, 686]
    assert max(len(c) for c in mosi) == 63
    with pytest.raises(ValueError, match="no folds"):
        mosi.split(fold=1)


def test_audio_alone_loads(shared_data: Path) -> None:
    audio = load_gcnet(shared_data, "CMUMOSI", {"audio": "covarep73-UTT"}, cache_dir=False)
    assert audio.modalities == ("audio",)
    assert audio.num_utterances == 2199
