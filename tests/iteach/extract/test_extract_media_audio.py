"""Audio of real media files: segments of mp4 / mkv / mp3 decoded by PyAV against the wav path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iteach_app.extract import (
    AUDIO_DIM,
    LIBROSA_DIM,
    FeatureError,
    RowError,
    extract_audio,
    read_audio,
    read_media_rows,
)


def _table(folder: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    table = folder / "talk.csv"
    lines = ["utterance_id,media_path,start,end"] + [",".join(r) for r in rows]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_segment_of_lossless_mkv_equals_the_wav_samples(media):
    wav = read_audio(media["face.wav"], start=0.5, end=1.5)
    mkv = read_audio(media["face.mkv"], start=0.5, end=1.5)
    assert wav.shape == mkv.shape == (16000,)
    assert wav.dtype == mkv.dtype == np.float32
    np.testing.assert_allclose(mkv, wav, atol=2e-4)  # FLAC of 16-bit PCM: rounding only


@pytest.mark.parametrize("name", ["face.mp4", "face.mp3"])
def test_lossy_containers_keep_the_waveform_in_time(media, name):
    wav = read_audio(media["face.wav"], start=0.4, end=1.9)
    decoded = read_audio(media[name], start=0.4, end=1.9)
    assert decoded.shape == wav.shape
    assert np.corrcoef(decoded, wav)[0, 1] > 0.95  # a shift of a few samples would break this


def test_resampled_to_16khz_mono_from_any_rate_and_channels(tmp_path, make_wav):
    stereo = make_wav(tmp_path / "s.wav", 200.0, seconds=1.0, rate=22050, channels=2)
    assert read_audio(stereo).shape == (16000,)
    assert read_audio(stereo, start=0.25, end=0.75, rate=8000).shape == (4000,)


def test_segments_outside_the_audio_are_row_errors(media):
    with pytest.raises(RowError, match=r"segment \[30.00, 31.00\) s is outside .*face.mp4"):
        read_audio(media["face.mp4"], start=30, end=31)
    with pytest.raises(RowError, match=r"outside .*face.wav \(\d+\.\d\d s of audio\)"):
        read_audio(media["face.wav"], start=0.0, end=60.0)
    with pytest.raises(RowError, match="has no audio track"):
        read_audio(media["mute.mp4"])
    with pytest.raises(RowError, match=r"cannot read media file .*junk\.mp4"):
        read_audio(media["junk.mp4"])


def test_egemaps_of_every_container_matches_the_wav_path(tmp_path, media):
    pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")
    names = ["face.wav", "face.mp4", "face.mkv", "face.mp3", "mirror.mkv"]
    table = _table(tmp_path, [(n, str(media[n]), "0.3", "2.0") for n in names])
    vectors, absences = extract_audio(
        read_media_rows(table, "media_path", start_column="start", end_column="end"),
        show_progress=False,
    )
    assert not absences.uids
    assert all(v.shape == (AUDIO_DIM,) and np.isfinite(v).all() for v in vectors.values())
    reference = vectors["face.wav"]
    other_voice = _relative(vectors["mirror.mkv"], reference)
    for name in ["face.mp4", "face.mkv", "face.mp3"]:
        assert _relative(vectors[name], reference) < 0.5 * other_voice, name


def test_librosa_set_of_mp4_and_mkv_matches_the_wav_path(tmp_path, media):
    pytest.importorskip("librosa", reason="librosa (the 'features' extra) not installed")
    names = ["face.wav", "face.mp4", "face.mkv", "mirror.mkv"]
    table = _table(tmp_path, [(n, str(media[n]), "0.3", "2.0") for n in names])
    vectors, absences = extract_audio(
        read_media_rows(table, "media_path", start_column="start", end_column="end"),
        extractor="librosa",
        show_progress=False,
    )
    assert not absences.uids
    assert all(v.shape == (LIBROSA_DIM,) and np.isfinite(v).all() for v in vectors.values())
    other_voice = _relative(vectors["mirror.mkv"], vectors["face.wav"])
    for name in ["face.mp4", "face.mkv"]:
        assert _relative(vectors[name], vectors["face.wav"]) < 0.5 * other_voice, name


def test_bad_rows_are_absent_with_one_reason_each_and_strict_stops(tmp_path, media):
    pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")
    rows = [
        ("ok", str(media["face.mp4"]), "", ""),
        ("mute", str(media["mute.mp4"]), "", ""),
        ("junk", str(media["junk.mp4"]), "", ""),
        ("truncated", str(media["truncated.mp4"]), "", ""),
        ("late", str(media["face.mp4"]), "40", "41"),
        ("empty", "", "", ""),
        ("backwards", str(media["face.mp4"]), "2", "1"),
        ("gone", "nowhere.mp4", "", ""),
    ]
    table = _table(tmp_path, rows)
    media_rows = read_media_rows(table, "media_path", start_column="start", end_column="end")
    vectors, absences = extract_audio(media_rows, show_progress=False)
    assert list(vectors) == ["ok"]
    assert absences.uids == [r[0] for r in rows[1:]]
    reasons = dict(zip(absences.uids, absences.lines, strict=True))
    assert "row 2 (utterance 'mute')" in reasons["mute"]
    assert "no audio track" in reasons["mute"]
    assert "cannot read media file" in reasons["junk"]
    assert "truncated.mp4" in reasons["truncated"]
    assert "row 5 (utterance 'late')" in reasons["late"]
    assert "outside" in reasons["late"]
    assert "the 'media_path' cell is empty" in reasons["empty"]
    assert "end is not after the start" in reasons["backwards"]
    assert f"media file not found: {tmp_path / 'nowhere.mp4'}" in reasons["gone"]
    assert all("\n" not in line for line in absences.lines)
    assert absences.summary(len(rows)).startswith("audio (egemaps): 7 of 8 utterances absent")
    with pytest.raises(FeatureError, match=r"row 2 \(utterance 'mute'\): .* no audio track"):
        extract_audio(media_rows, strict=True, show_progress=False)


@pytest.mark.parametrize("name", ["face.mp4", "face.mkv", "face.mp3"])
def test_a_late_segment_read_after_a_seek_equals_the_same_cut_of_the_whole_file(media, name):
    whole = read_audio(media[name])
    late = read_audio(media[name], start=1.2, end=1.9)  # past 1 s: the reader seeks first
    assert late.shape == (11200,)
    np.testing.assert_allclose(late, whole[19200:30400], atol=5e-3)
