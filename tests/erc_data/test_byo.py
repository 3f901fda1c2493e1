"""Bring your own conversations: CSV / JSONL tables with .npy folders or .npz arrays."""

import json
from pathlib import Path

import numpy as np
import pytest

from erc_data import DataError, load_conversations, save_conversations
from erc_data.synthetic import iemocap_like, mosi_like


def _rows(tmp: Path, rows: list[dict], suffix: str = ".jsonl") -> Path:
    path = tmp / f"table{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        cols = list(rows[0])
        lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_round_trip_through_npz(tmp_path: Path, suffix: str) -> None:
    ds = iemocap_like(4, seed=1, num_dialogues=7, dims={"text": 4, "audio": 2}, max_length=9)
    paths = save_conversations(ds, tmp_path / f"utts{suffix}", tmp_path / "features")
    loaded = load_conversations(tmp_path / f"utts{suffix}", paths)
    assert loaded.task == "classification"
    assert loaded.num_classes == 4
    assert [c.id for c in loaded] == [c.id for c in ds]
    assert loaded.speaker_names == ds.speaker_names
    for a, b in zip(ds, loaded, strict=True):
        assert a.utterance_ids == b.utterance_ids
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.speakers, b.speakers)
        np.testing.assert_array_equal(a.features["audio"], b.features["audio"])
    assert [len(s) for s in loaded.split()] == [len(s) for s in ds.split()]


def test_regression_round_trip(tmp_path: Path) -> None:
    ds = mosi_like(seed=0, num_dialogues=5, dims={"text": 3}, max_length=6)
    paths = save_conversations(ds, tmp_path / "m.csv", tmp_path / "f")
    loaded = load_conversations(tmp_path / "m.csv", paths)
    assert loaded.task == "regression"
    assert loaded.num_classes is None
    np.testing.assert_array_equal(loaded[0].labels, ds[0].labels)


def test_folder_features_order_and_names(tmp_path: Path) -> None:
    rows = [
        {"conversation_id": "c2", "utterance_id": "u3", "speaker": "B", "label": "sad", "order": 1},
        {"conversation_id": "c1", "utterance_id": "u2", "speaker": "A", "label": "joy", "order": 2},
        {"conversation_id": "c1", "utterance_id": "u1", "speaker": "B", "label": "sad", "order": 1},
    ]
    table = _rows(tmp_path, rows, ".csv")
    folder = tmp_path / "text"
    folder.mkdir()
    for k, uid in enumerate(["u1", "u2", "u3"]):
        np.save(folder / f"{uid}.npy", np.full((2, 3), k, dtype=np.float32))  # (T, D)
    ds = load_conversations(table, {"text": folder}, label_names=["joy", "sad"], name="mine")
    assert ds.name == "mine"
    assert [c.id for c in ds] == ["c2", "c1"]
    assert ds[1].utterance_ids == ["u1", "u2"]  # sorted by 'order'
    assert ds[1].labels.tolist() == [1, 0]
    assert ds.num_classes == 2
    assert ds.speaker_names == ("A", "B")
    assert ds[1].speakers.tolist() == [1, 0]
    np.testing.assert_array_equal(ds[1].features["text"][1], np.full(3, 1.0))


def _base(n: int = 3) -> list[dict]:
    return [
        {"conversation_id": "c", "utterance_id": f"u{i}", "speaker": "s", "label": i % 2}
        for i in range(n)
    ]


def _npz(tmp: Path, ids, dim: int = 2) -> Path:
    path = tmp / "f.npz"
    np.savez(path, **{u: np.ones(dim, dtype=np.float32) for u in ids})
    return path


def test_errors(tmp_path: Path) -> None:
    feats = {"text": _npz(tmp_path, ["u0", "u1"])}
    with pytest.raises(DataError, match=r"1 of 3 utterances have no array in .*f\.npz.*'u2'"):
        load_conversations(_rows(tmp_path, _base()), feats)
    rows = _base(2)
    rows[1]["label"] = 5
    with pytest.raises(DataError, match=r"row 2.*outside the classes 0..2"):
        load_conversations(_rows(tmp_path, rows), feats, num_classes=3)
    rows = _base(2)
    rows[1]["utterance_id"] = "u0"
    with pytest.raises(DataError, match="'u0' appears twice"):
        load_conversations(_rows(tmp_path, rows), feats)
    rows = _base(2)
    del rows[0]["label"]
    with pytest.raises(DataError, match=r"row 1: missing column\(s\) \['label'\]"):
        load_conversations(_rows(tmp_path, rows), feats)
    rows = _base(2)
    rows[0]["label"] = "happy"
    with pytest.raises(
        DataError, match=r"'happy' of .*, row 1 is not one of the label names \['sad'\]"
    ):
        load_conversations(_rows(tmp_path, rows), feats, label_names=["sad"])
    with pytest.raises(DataError, match="labels mix names and numbers: 'happy'"):
        load_conversations(_rows(tmp_path, rows), feats, task="classification")
    (tmp_path / "t.xlsx").write_text("")
    with pytest.raises(DataError, match=r"must be \.csv or \.jsonl"):
        load_conversations(tmp_path / "t.xlsx", feats)
    with pytest.raises(DataError, match="feature_dirs is empty"):
        load_conversations(_rows(tmp_path, _base(2)), {})


def test_split_column_and_bad_values(tmp_path: Path) -> None:
    feats = {"text": _npz(tmp_path, ["u0", "u1", "u2"])}
    rows = _base()
    for r, s in zip(rows, ["train", "train", "test"], strict=True):
        r["split"] = s
    with pytest.raises(
        DataError,
        match=r"conversation 'c' is in two splits: .*row 1 says 'train', .*row 3 says 'test'",
    ):
        load_conversations(_rows(tmp_path, rows), feats)
    nan = tmp_path / "nan.npz"
    np.savez(nan, u0=np.ones(2), u1=np.array([np.nan, 1.0]), u2=np.ones(2))
    with pytest.raises(DataError, match=r"nan\.npz\['u1'\]: holds NaN"):
        load_conversations(_rows(tmp_path, _base()), {"text": nan})
