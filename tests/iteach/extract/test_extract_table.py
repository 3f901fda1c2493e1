"""Reading a column of an utterance table, and the .npz feature files (no extras needed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from iteach_app.extract import FeatureError, read_column, read_paths, read_vectors, write_vectors


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_csv_and_jsonl_give_the_same_column_in_table_order(tmp_path):
    rows = [
        {"conversation_id": "c1", "utterance_id": "c1_1", "text": "Hello there."},
        {"conversation_id": "c1", "utterance_id": "c1_0", "text": "Fine, thanks, and you?"},
    ]
    (tmp_path / "t.csv").write_text(
        "conversation_id,utterance_id,text\n"
        "c1,c1_1,Hello there.\n"
        'c1,c1_0,"Fine, thanks, and you?"\n'
    )
    from_csv = read_column(tmp_path / "t.csv", "text")
    from_jsonl = read_column(_jsonl(tmp_path / "t.jsonl", rows), "text")
    assert from_csv == from_jsonl == {"c1_1": "Hello there.", "c1_0": "Fine, thanks, and you?"}
    assert list(from_csv) == ["c1_1", "c1_0"]


def test_missing_column_names_the_row_and_column(tmp_path):
    table = _jsonl(
        tmp_path / "t.jsonl",
        [{"utterance_id": "a", "text": "yes"}, {"utterance_id": "b", "txt": "no"}],
    )
    with pytest.raises(FeatureError, match=r"t\.jsonl, row 2: no column 'text'"):
        read_column(table, "text")


@pytest.mark.parametrize("cell", ["", "   "])
def test_empty_text_names_the_row_and_utterance(tmp_path, cell):
    table = tmp_path / "t.csv"
    table.write_text(f"utterance_id,text\na,fine\nb,{cell}\n")
    with pytest.raises(
        FeatureError, match=r"t\.csv, row 2 \(utterance 'b'\): the 'text' cell is empty"
    ):
        read_column(table, "text")


def test_reused_id_names_both_rows(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("utterance_id,text\na,one\nb,two\na,three\n")
    with pytest.raises(FeatureError, match=r"row 3: utterance id 'a' already used in row 1"):
        read_column(table, "text")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, r"table not found: .*absent\.csv"),
        ("t.tsv", "utterance_id\ta\n", r"t\.tsv: table must be \.csv or \.jsonl"),
        ("t.jsonl", '{"utterance_id": "a"}\n[1, 2]\n', r"t\.jsonl, line 2: expected an object"),
        ("t.jsonl", '{"utterance_id": "a"\n', r"t\.jsonl, line 1: not JSON"),
        ("t.csv", "utterance_id,text\n", r"t\.csv: the table has no rows"),
        ("t.csv", "text\nhello\n", r"t\.csv, row 1: no 'utterance_id'"),
    ],
)
def test_bad_tables_name_the_file(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(FeatureError, match=message):
        read_column(tmp_path / name, "text")


def test_paths_are_relative_to_the_table_folder_unless_absolute(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "b.wav"
    (tmp_path / "data").mkdir()
    table = _jsonl(
        tmp_path / "data" / "t.jsonl",
        [
            {"utterance_id": "a", "audio_path": "wav/a.wav"},
            {"utterance_id": "b", "audio_path": str(elsewhere)},
        ],
    )
    assert read_paths(table, "audio_path") == {
        "a": tmp_path / "data" / "wav" / "a.wav",
        "b": elsewhere,
    }


def test_npz_round_trips_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    vectors = {
        uid: rng.normal(size=5).astype(np.float32)
        for uid in ["file", "Ses01F_impro01_F000", "dia3 utt.2", "allow_pickle"]
    }
    out = write_vectors(tmp_path / "text.npz", vectors)
    back = read_vectors(out)
    assert list(back) == list(vectors)
    for uid, vector in vectors.items():
        assert back[uid].dtype == np.float32
        np.testing.assert_array_equal(back[uid], vector)
    with np.load(out, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["file"], vectors["file"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.npz"]  # no temp file left


def test_npz_rewrite_replaces_the_whole_file(tmp_path):
    out = tmp_path / "f.npz"
    write_vectors(out, {"a": np.zeros(3, np.float32), "b": np.ones(3, np.float32)})
    write_vectors(out, {"c": np.full(2, 7.0, np.float32)})
    assert zipfile.ZipFile(out).namelist() == ["c.npy"]
    np.testing.assert_array_equal(read_vectors(out)["c"], [7.0, 7.0])


def test_npz_errors_name_the_output(tmp_path):
    with pytest.raises(FeatureError, match=r"out\.npy: the output must be an \.npz"):
        write_vectors(tmp_path / "out.npy", {"a": np.zeros(2)})
    with pytest.raises(FeatureError, match=r"empty\.npz: no vectors"):
        write_vectors(tmp_path / "empty.npz", {})
    (tmp_path / "taken.npz").mkdir()
    with pytest.raises(FeatureError, match=r"cannot write .*taken\.npz"):
        write_vectors(tmp_path / "taken.npz", {"a": np.zeros(2)})
