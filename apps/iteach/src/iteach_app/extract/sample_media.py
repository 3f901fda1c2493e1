"""Synthetic recordings for demos, tests and benchmarks: a still face and a voice in one file.

`write_clip` renders an RGB image (moved by a pixel or two per frame, as a held camera would)
and a mono signal into mp4 / mkv (H.264 video; AAC / FLAC audio), mp3 or wav with PyAV's bundled
FFmpeg. `speech` asks ``espeak-ng`` for spoken text when that program is installed, and otherwise
makes a voiced signal (a pitch contour with harmonics, in syllables), so callers always get audio.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from iteach_app.extract.decode import load_av, resample

AUDIO_CODECS = {".mp4": "aac", ".mkv": "flac", ".mp3": "libmp3lame", ".m4a": "aac"}


def has_espeak() -> bool:
    """Whether the ``espeak-ng`` program is on PATH."""
    return shutil.which("espeak-ng") is not None


def voiced_signal(seconds: float, pitch_hz: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """(samples,) float32: a gliding pitch with 5 harmonics, in 4 syllables per second."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = pitch_hz * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 0.5
    signal = 0.3 * tone * envelope + rng.normal(0, 0.005, t.shape)
    return signal.astype(np.float32)


def speech(
    text: str, *, rate: int = 16000, voice: str = "en", pitch: int = 50, seconds: float = 2.0
) -> tuple[np.ndarray, str]:
    """(samples,) float32 speech of ``text`` at ``rate`` and how it was made ("espeak-ng" or
    "synthetic voiced signal", when espeak-ng is missing: ``seconds`` long)."""
    if not has_espeak():
        return voiced_signal(
            seconds, 90 + 2 * pitch, rate, seed=len(text)
        ), "synthetic voiced signal"
    import soundfile

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        signal, native = soundfile.read(wav, dtype="float32", always_2d=True)
    return resample(signal.mean(axis=1), int(native), rate), "espeak-ng"


def _video_stream(container: object, image: np.ndarray, fps: int) -> object:
    """An H.264 stream sized for ``image`` (cropped to even sides)."""
    stream = container.add_stream("libx264", rate=fps)  # type: ignore[attr-defined]
    stream.width, stream.height = (image.shape[1] // 2) * 2, (image.shape[0] // 2) * 2
    stream.pix_fmt = "yuv420p"
    return stream


def _audio_stream(container: object, codec: str, rate: int) -> object:
    stream = container.add_stream(codec, rate=rate)  # type: ignore[attr-defined]
    stream.layout = "mono"
    return stream


def _video_frames(image: np.ndarray, stream: object, fps: int, seconds: float) -> Iterator[object]:
    """Frames of ``image`` shifted by up to 2 pixels, ``seconds`` long."""
    av = load_av()
    image = np.ascontiguousarray(image[: stream.height, : stream.width])  # type: ignore[attr-defined]
    for index in range(round(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(np.roll(image, (index % 5) - 2, axis=1), format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, fps)
        yield frame


def _audio_frames(signal: np.ndarray, rate: int, step: int = 1024) -> Iterator[object]:
    """``signal`` in frames of ``step`` samples; PyAV re-frames them for the encoder."""
    av = load_av()
    for start in range(0, signal.shape[0], step):
        chunk = np.ascontiguousarray(signal[None, start : start + step], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


def _encode(container: object, stream: object, frames: Iterable[object]) -> None:
    for frame in [*frames, None]:
        for packet in stream.encode(frame):  # type: ignore[attr-defined]
            container.mux(packet)  # type: ignore[attr-defined]


def write_clip(
    path: str | Path,
    *,
    image: np.ndarray | None = None,
    audio: np.ndarray | None = None,
    rate: int = 16000,
    fps: int = 25,
    seconds: float | None = None,
) -> Path:
    """Write ``image`` (H, W, 3) uint8 as video and/or ``audio`` (samples,) as sound to ``path``.

    The container follows the suffix (.mp4, .mkv, .mp3, .m4a, .wav); the video lasts ``seconds``
    (default: as long as the audio). A clip without ``audio`` has no audio track.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if audio is not None and seconds is None:
        seconds = audio.shape[0] / rate
    if suffix == ".wav":
        import soundfile

        if audio is None:
            raise ValueError("a .wav clip needs audio")
        soundfile.write(path, audio, rate, subtype="PCM_16")
        return path
    if suffix not in AUDIO_CODECS:
        raise ValueError(f"unsupported clip suffix {suffix!r}; use one of {sorted(AUDIO_CODECS)}")
    av = load_av()
    with av.open(str(path), "w") as container:
        # Every stream is added before the first packet: the header is written with the first.
        video = None
        if image is not None and suffix in (".mp4", ".mkv"):
            video = _video_stream(container, image, fps)
        sound = _audio_stream(container, AUDIO_CODECS[suffix], rate) if audio is not None else None
        if video is not None and image is not None:
            _encode(container, video, _video_frames(image, video, fps, seconds or 1.0))
        if sound is not None and audio is not None:
            _encode(container, sound, _audio_frames(audio, rate))
    return path
