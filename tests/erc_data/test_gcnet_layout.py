"""load_gcnet on synthetic data in the release layout: the full loader path, and its errors."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from erc_data import DataError, ERCDataset, load_gcnet
from erc_data.synthetic import iemocap_like, mosi_like, write_gcnet_layout

DIMS = {"text": 8, "audio": 4}
NAMES = {"text": "text-UTT", "audio": "audio-UTT"}


@pytest.fixture(scope="module")
def small() -> ERCDataset:
    return iemocap_like(4, seed=3, num_dialogues=10, dims=DIMS, max_length=20)


@pytest.fixture
def layout(small: ERCDataset, tmp_path: Path) -> Path:
    return write_gcnet_layout(small, tmp_path / "data", "IEMOCAPFour", NAMES)


def _edit_pickle(folder: Path, name: str, edit) -> None:
    path = folder / name
    payload = pickle.loads(path.read_bytes())
    edit(payload)
    path.write_bytes(pickle.dumps(payload, protocol=4))


def _assert_same(a: ERCDataset, b: ERCDataset) -> None:
    assert [c.id for c in a] == [c.id for c in b]
    for x, y in zip(a, b, strict=True):
        assert x.utterance_ids == y.utterance_ids
        np.testing.assert_array_equal(x.labels, y.labels)
        np.testing.assert_array_equal(x.speakers, y.speakers)
        for m in a.modalities:
            np.testing.assert_array_equal(x.features[m], y.features[m])


def test_round_trip(small: ERCDataset, layout: Path, tmp_path: Path) -> None:
    loaded = load_gcnet(layout.parent, "IEMOCAPFour", NAMES, cache_dir=tmp_path / "c")
    _assert_same(small, loaded)
    assert loaded.folds == small.folds
    for k in range(1, 6):
        assert [c.id for c in loaded.split(fold=k)[2]] == [c.id for c in small.split(fold=k)[2]]
    assert [c.id for c in loaded.split()[2]] == [c.id for c in small.split(fold=5)[2]]


def test_any_subset_of_modalities(layout: Path) -> None:
    only_audio = load_gcnet(layout, "IEMOCAPFour", {"audio": "audio-UTT"}, cache_dir=False)
    assert only_audio.modality_dims == {"audio": 4}


def test_mosi_layout_round_trip(tmp_path: Path) -> None:
    ds = mosi_like(seed=1, num_dialogues=9, dims={"text": 5}, max_length=12)
    root = write_gcnet_layout(ds, tmp_path, "CMUMOSI", {"text": "t"})
    loaded = load_gcnet(root, "CMUMOSI", {"text": "t"}, cache_dir=False)
    _assert_same(ds, loaded)
    assert [len(s) for s in loaded.split()] == [len(s) for s in ds.split()]


def test_time_series_and_speaker_folders(small: ERCDataset, layout: Path) -> None:
    folder = layout / "features" / "text-UTT"
    conv = small[0]
    u0, u1 = conv.utterance_ids[0], conv.utterance_ids[1]
    frames = np.arange(24, dtype=np.float32).reshape(3, 8)
    np.save(folder / f"{u0}.npy", frames)  # (T, D) is averaged over T
    (folder / f"{u1}.npy").unlink()
    (folder / u1).mkdir()  # a folder holding one file per speaker
    own = small.speaker_names[conv.speakers[1]]
    other = "M" if own == "F" else "F"
    np.save(folder / u1 / f"{u1}_{own}.npy", np.full(8, 1.0, dtype=np.float32))
    np.save(folder / u1 / f"{u1}_{other}.npy", np.full(8, 9.0, dtype=np.float32))
    loaded = load_gcnet(layout, "IEMOCAPFour", {"text": "text-UTT"}, cache_dir=False)
    np.testing.assert_allclose(loaded[0].features["text"][0], frames.mean(axis=0))
    np.testing.assert_array_equal(loaded[0].features["text"][1], np.full(8, 1.0))


def test_missing_files_counted_and_named(small: ERCDataset, layout: Path) -> None:
    gone = small[2].utterance_ids[:3]
    for uid in gone:
        (layout / "features" / "audio-UTT" / f"{uid}.npy").unlink()
    with pytest.raises(DataError, match=f"3 of {small.num_utterances} utterances") as info:
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)
    assert all(uid in str(info.value) for uid in gone)
    assert "audio-UTT" in str(info.value)


@pytest.mark.parametrize(
    ("value", "shape", "pattern"),
    [(np.nan, 8, "NaN"), (np.inf, 8, "inf"), (0.0, 5, "inconsistent feature dims")],
)
def test_bad_feature_file_named(small, layout: Path, value, shape, pattern) -> None:
    uid = small[4].utterance_ids[2]
    x = np.zeros(shape, dtype=np.float32)
    x[1] = value
    np.save(layout / "features" / "text-UTT" / f"{uid}.npy", x)
    with pytest.raises(DataError, match=pattern) as info:
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)
    assert f"{uid}.npy" in str(info.value)


def test_object_array_feature_refused(small, layout: Path) -> None:
    uid = small[1].utterance_ids[0]
    np.save(layout / "features" / "text-UTT" / f"{uid}.npy", np.array([{}], dtype=object))
    with pytest.raises(DataError, match=f"{uid}.npy"):
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)


def test_label_out_of_range(small: ERCDataset, layout: Path) -> None:
    dialogue = small[3].id
    _edit_pickle(
        layout, "IEMOCAP_features_raw_4way.pkl", lambda p: p[1][dialogue].__setitem__(1, 4)
    )
    with pytest.raises(
        DataError, match=r"label of utterance .* is 4; IEMOCAPFour has classes 0..3"
    ):
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)


def test_regression_label_out_of_range(tmp_path: Path) -> None:
    ds = mosi_like(seed=0, num_dialogues=5, dims={"text": 3}, max_length=6)
    root = write_gcnet_layout(ds, tmp_path, "CMUMOSI", {"text": "t"})
    _edit_pickle(
        root, "CMUMOSI_features_raw_2way.pkl", lambda p: p[1][ds[0].id].__setitem__(0, 3.5)
    )
    with pytest.raises(DataError, match=r"3\.5, outside \[-3\.0, 3\.0\]"):
        load_gcnet(root, "CMUMOSI", {"text": "t"}, cache_dir=False)


def test_empty_conversation(small: ERCDataset, layout: Path) -> None:
    def empty(p):
        for d in p[:4]:
            d["Ses01F_empty"] = []

    _edit_pickle(layout, "IEMOCAP_features_raw_4way.pkl", empty)
    with pytest.raises(DataError, match="'Ses01F_empty' is empty"):
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)


def test_mismatched_lengths(small: ERCDataset, layout: Path) -> None:
    dialogue = small[0].id
    _edit_pickle(layout, "IEMOCAP_features_raw_4way.pkl", lambda p: p[1][dialogue].pop())
    with pytest.raises(DataError, match=f"{dialogue}.*labels"):
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)


def test_bad_names_and_paths(layout: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown dataset 'IEMOCAP'; known: \['CMUMOSEI'"):
        load_gcnet(layout, "IEMOCAP", NAMES)
    with pytest.raises(DataError, match="feature folder for 'video' not found"):
        load_gcnet(layout, "IEMOCAPFour", {"video": "nope"}, cache_dir=False)
    with pytest.raises(DataError, match="features is empty"):
        load_gcnet(layout, "IEMOCAPFour", {}, cache_dir=False)
    with pytest.raises(DataError, match=r"IEMOCAP_features_raw_6way\.pkl not found"):
        load_gcnet(layout, "IEMOCAPSix", NAMES, cache_dir=False)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(DataError, match="not found"):
        load_gcnet(empty, "CMUMOSEI", {"text": "t"}, cache_dir=False)


def test_wrong_pickle_shape(layout: Path) -> None:
    (layout / "IEMOCAP_features_raw_4way.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataError, match="expected a list of 6"):
        load_gcnet(layout, "IEMOCAPFour", NAMES, cache_dir=False)


def test_write_layout_checks_the_task(small: ERCDataset, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="IEMOCAPSix needs"):
        write_gcnet_layout(small, tmp_path, "IEMOCAPSix")
    with pytest.raises(DataError, match="not in"):
        write_gcnet_layout(small, tmp_path, "IEMOCAPFour", {"video": "v"})
    shutil.rmtree(tmp_path)
