"""erc_data under hostile input: each case a clear DataError or correct handling.

Unpickler: allocation bombs, ndarray bombs, deep nesting, self-reference. .npy: 0 bytes, 6 bytes,
truncated, padded, /dev/zero links, links leaving the folder (refused; allowed with the flag),
object arrays. .npz: corrupt, object. Tables: non-UTF-8, BOM, misspelt column, extra CSV field,
bool labels, 2.0 labels, unknown task, order/split only in later rows, one conversation in two
splits. Release: {"text": None}, duplicated utterance id, dialogue in two splits, dialogue in no
split.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from erc_data import DataError, load_conversations, load_gcnet, load_pickle
from erc_data.npy import read_npy
from erc_data.release import read_release_labels
from erc_data.specs import get_spec
from erc_data.synthetic import iemocap_like


def _pickle_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "labels.pkl"
    path.write_bytes(data)
    return path


def test_bytearray_bomb_is_refused(tmp_path: Path) -> None:
    """bytearray(3 * 10**9) from a 30-byte file."""
    data = b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00\x5e\xd0\xb2\x00\x85R."
    with pytest.raises(DataError, match=r"bytearray\(3000000000\) would allocate"):
        load_pickle(_pickle_bytes(tmp_path, data))


def test_ndarray_bomb_is_refused(tmp_path: Path) -> None:
    data = pickle.dumps(np.zeros(4), protocol=2).replace(b"K\x00\x85", b"J\x00\xca\x9a;\x85")
    with pytest.raises(DataError, match="an array of shape"):
        load_pickle(_pickle_bytes(tmp_path, data))


def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    depth = 200_000
    data = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    with pytest.raises(DataError, match="nested more than 64 deep"):
        load_pickle(_pickle_bytes(tmp_path, data))


def test_self_containing_list_is_refused(tmp_path: Path) -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(DataError, match="contains itself"):
        load_pickle(_pickle_bytes(tmp_path, pickle.dumps(loop, protocol=2)))


def test_ordinary_pickles_still_load(tmp_path: Path) -> None:
    value = {"a": np.arange(6.0).reshape(2, 3), "b": [["x", 1]], "c": np.float32(2)}
    for protocol in (2, 4, 5):
        out = load_pickle(_pickle_bytes(tmp_path, pickle.dumps(value, protocol=protocol)))
        np.testing.assert_array_equal(out["a"], value["a"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"\x93NUMPY", "6 bytes, too short"),
        (b"not a numpy file at all", "without a .npy header"),
    ],
)
def test_short_npy_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "u.npy"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message):
        read_npy(str(path))


def test_npy_size_must_match_its_header(tmp_path: Path) -> None:
    path = tmp_path / "u.npy"
    np.save(path, np.zeros(10))
    data = path.read_bytes()
    for body, held in ((data[:-8], 72), (data + b"\x00", 81)):
        path.write_bytes(body)
        with pytest.raises(DataError, match=rf"\(80 bytes\), but the file holds {held} bytes"):
            read_npy(str(path))


def test_npy_links(tmp_path: Path) -> None:
    folder = tmp_path / "feats"
    folder.mkdir()
    os.symlink("/dev/zero", folder / "zero.npy")
    with pytest.raises(DataError, match="not a regular file"):
        read_npy(str(folder / "zero.npy"))
    np.save(tmp_path / "outside.npy", np.ones(3))
    os.symlink(tmp_path / "outside.npy", folder / "out.npy")
    with pytest.raises(DataError, match="outside the feature folder"):
        read_npy(str(folder / "out.npy"), root=str(folder))
    np.testing.assert_array_equal(read_npy(str(folder / "out.npy")), np.ones(3))


def test_object_npy_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([{}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="object array"):
        read_npy(str(tmp_path / "o.npy"))


def _table(tmp_path: Path, rows: list[dict], name: str = "t.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(labels: list) -> list[dict]:
    return [
        {"conversation_id": "c", "utterance_id": f"u{i}", "speaker": "A", "label": y}
        for i, y in enumerate(labels)
    ]


def _npz(tmp_path: Path, n: int) -> dict[str, Path]:
    np.savez(tmp_path / "text.npz", **{f"u{i}": np.full(2, float(i)) for i in range(n)})
    return {"text": tmp_path / "text.npz"}


def test_corrupt_and_object_npz(tmp_path: Path) -> None:
    table = _table(tmp_path, _rows([0, 1]))
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 this is no zip")
    with pytest.raises(DataError, match=r"bad\.npz is not a readable \.npz"):
        load_conversations(table, {"text": tmp_path / "bad.npz"})
    np.savez(tmp_path / "obj.npz", u0=np.ones(2), u1=np.array([{}], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz\['u1'\]: unreadable array"):
        load_conversations(table, {"text": tmp_path / "obj.npz"})


def test_table_encoding_and_columns(tmp_path: Path) -> None:
    feats = _npz(tmp_path, 2)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "conversation_id,utterance_id,speaker,label\nc,u0,Jos\xe9,0\n".encode("latin-1")
    )
    with pytest.raises(DataError, match=r"latin\.csv is not UTF-8 text"):
        load_conversations(latin, feats)
    bom = tmp_path / "bom.csv"
    bom.write_text("\ufeffconversation_id,utterance_id,speaker,label\nc,u0,A,0\nc,u1,B,1\n")
    assert load_conversations(bom, feats).num_utterances == 2
    typo = _rows([0, 1])
    typo[0]["Split"] = "train"
    with pytest.raises(DataError, match="row 1: unknown column 'Split'; did you mean 'split'"):
        load_conversations(_table(tmp_path, typo), feats)
    extra = tmp_path / "extra.csv"
    extra.write_text("conversation_id,utterance_id,speaker,label\nc,u0,A,0\nc,u1,B,1,oops\n")
    with pytest.raises(DataError, match="row 2: 1 more field"):
        load_conversations(extra, feats)


def test_labels(tmp_path: Path) -> None:
    feats = _npz(tmp_path, 3)
    with pytest.raises(DataError, match=r"label True of .*row 1 is a boolean"):
        load_conversations(_table(tmp_path, _rows([True, False, True])), feats)
    ds = load_conversations(_table(tmp_path, _rows([0, 1, 2.0])), feats)
    assert ds.task == "classification"
    assert ds.num_classes == 3
    assert load_conversations(_table(tmp_path, _rows([0, 1, 2.5])), feats).task == "regression"
    assert load_conversations(_table(tmp_path, _rows([0, -1, 2])), feats).task == "regression"
    with pytest.raises(DataError, match="task must be 'classification', 'regression' or None"):
        load_conversations(_table(tmp_path, _rows([0, 1, 2])), feats, task="banana")
    named = load_conversations(_table(tmp_path, _rows(["sad", "joy", "sad"])), feats)
    assert named.label_names == ("joy", "sad")
    assert named[0].labels.tolist() == [1, 0, 1]
    ordered = load_conversations(
        _table(tmp_path, _rows(["sad", "joy", "sad"])), feats, label_names=["sad", "joy", "anger"]
    )
    assert ordered[0].labels.tolist() == [0, 1, 0]
    assert ordered.num_classes == 3


@pytest.mark.parametrize("column", ["order", "split"])
def test_optional_column_only_in_later_rows(tmp_path: Path, column: str) -> None:
    rows = _rows([0, 1, 0])
    rows[2][column] = "train" if column == "split" else 5
    with pytest.raises(DataError, match=rf"row 1: no '{column}', but row 3 has one"):
        load_conversations(_table(tmp_path, rows), _npz(tmp_path, 3))


def test_text_none_feature_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"features\['text'\] must be a feature folder .* None"):
        load_gcnet(tmp_path, "IEMOCAPFour", {"text": None})
    with pytest.raises(DataError, match="features must map modality"):
        load_gcnet(tmp_path, "IEMOCAPFour", "text")


def _release(tmp_path: Path, utts: dict, train: list, test: list) -> Path:
    labels = {d: [0] * len(u) for d, u in utts.items()}
    speakers = {d: ["M"] * len(u) for d, u in utts.items()}
    payload = [utts, labels, speakers, {}, train, test]
    path = tmp_path / "labels.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    return path


def test_release_duplicates_and_splits(tmp_path: Path) -> None:
    spec = get_spec("IEMOCAPFour")
    dup = _release(tmp_path, {"Ses01a": ["x", "y"], "Ses02b": ["y"]}, ["Ses01a"], ["Ses02b"])
    with pytest.raises(DataError, match="utterance id 'y' appears in 'Ses01a' and in"):
        read_release_labels(dup, spec)
    both = _release(tmp_path, {"Ses01a": ["x"], "Ses02b": ["y"]}, ["Ses01a"], ["Ses01a", "Ses02b"])
    with pytest.raises(DataError, match="'Ses01a' is in both the train and the test list"):
        read_release_labels(both, spec)


def test_dialogue_in_no_split_is_not_dropped_silently() -> None:
    ds = iemocap_like(4, num_dialogues=10, dims={"text": 3}, seed=0)
    ids = [c.id for c in ds]
    ds.release_split = {c: ("test" if k < 3 else "train") for k, c in enumerate(ids[:-2])}
    with pytest.raises(DataError, match=r"2 of 10 conversations are in no split"):
        ds.split()
    train, val, test = ds.split(unassigned="train")
    assert len(train) + len(val) + len(test) == 10
    train, val, test = ds.split(unassigned="drop")
    assert len(train) + len(val) + len(test) == 8
