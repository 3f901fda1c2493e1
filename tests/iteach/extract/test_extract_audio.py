"""eGeMAPS functionals from generated wav files (skipped when opensmile is not installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from iteach_app.extract import AUDIO_DIM, FeatureError, MissingExtraError, extract_egemaps, read_wav


@pytest.fixture(scope="module")
def opensmile():
    return pytest.importorskip("opensmile", reason="opensmile (the 'features' extra) not installed")


def test_one_finite_88d_vector_per_file_matching_opensmile_on_the_file(
    tmp_path, make_wav, opensmile
):
    files = {
        "low": make_wav(tmp_path / "low.wav", 140.0),
        "high": make_wav(tmp_path / "high.wav", 280.0, seconds=1.5),
        "slow_rate": make_wav(tmp_path / "sub" / "s.wav", 200.0, rate=8000),
    }
    vectors = extract_egemaps(files, show_progress=False)
    assert list(vectors) == list(files)
    reference = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    for uid, path in files.items():
        assert vectors[uid].shape == (AUDIO_DIM,)
        assert vectors[uid].dtype == np.float32
        assert np.isfinite(vectors[uid]).all()
        expected = reference.process_file(str(path)).to_numpy(dtype=np.float32)[0]
        np.testing.assert_allclose(vectors[uid], expected, rtol=1e-5, atol=1e-5)
    assert reference.feature_names[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    assert vectors["high"][0] > vectors["low"][0] + 6  # an octave up is 12 semitones


def test_stereo_is_averaged_to_mono(tmp_path, make_wav, opensmile):
    mono = make_wav(tmp_path / "mono.wav", 180.0)
    stereo = make_wav(tmp_path / "stereo.wav", 180.0, channels=2)
    signal, rate = read_wav(stereo)
    assert signal.shape == (16000,)
    assert rate == 16000
    vectors = extract_egemaps({"m": mono, "s": stereo}, show_progress=False)
    np.testing.assert_allclose(vectors["s"], vectors["m"], rtol=1e-6, atol=1e-6)


def test_missing_wav_names_the_file(tmp_path, make_wav, opensmile):
    files = {"ok": make_wav(tmp_path / "ok.wav", 150.0), "gone": tmp_path / "gone.wav"}
    with pytest.raises(FeatureError, match=r"audio file not found: .*gone\.wav"):
        extract_egemaps(files, show_progress=False)


def test_unreadable_wav_names_the_file(tmp_path, opensmile):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(FeatureError, match=r"cannot read audio file .*bad\.wav"):
        extract_egemaps({"b": bad}, show_progress=False)


def test_too_short_wav_names_the_file(tmp_path, make_wav, opensmile):
    short = make_wav(tmp_path / "short.wav", 150.0, seconds=0.005)
    with pytest.raises(FeatureError, match=r"short\.wav gives no eGeMAPS vector.*80 samples"):
        extract_egemaps({"s": short}, show_progress=False)


def test_empty_wav_names_the_file(tmp_path, make_wav, opensmile):
    empty = make_wav(tmp_path / "empty.wav", 150.0, seconds=0.0)
    with pytest.raises(FeatureError, match=r"audio file .*empty\.wav has no samples"):
        extract_egemaps({"e": empty}, show_progress=False)


def test_missing_opensmile_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "opensmile", None)
    with pytest.raises(
        MissingExtraError, match=r"'opensmile'.*pip install 'iteach-app\[features\]'"
    ):
        extract_egemaps({"a": tmp_path / "a.wav"}, show_progress=False)
