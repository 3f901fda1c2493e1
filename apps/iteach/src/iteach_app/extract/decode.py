"""Decode media files with wheel-shipped decoders: audio segments as 16 kHz mono, video frames.

Wav, flac and ogg files are read by soundfile (libsndfile); every other container (mp4, mkv, mp3,
webm, ...) by PyAV, which bundles FFmpeg in its wheel. Both give float32 samples in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from iteach_app.extract.absent import RowError
from iteach_app.extract.errors import MissingExtraError

SOUNDFILE_SUFFIXES = frozenset({".wav", ".flac", ".ogg"})
# A segment may end this far past the decoded audio (encoders pad or trim a few milliseconds).
END_SLACK_S = 0.05


def load_av() -> Any:
    """The ``av`` module (PyAV), or a `MissingExtraError` naming the extra."""
    try:
        import av
    except ImportError:
        raise MissingExtraError("av", "media decoding") from None
    return av


def _reason(err: Exception) -> str:
    """FFmpeg's words for an error, without the errno and the path it repeats."""
    return str(getattr(err, "strerror", None) or err)


def _open(path: Path) -> Any:
    """An open PyAV container; an unreadable file is a `RowError` naming it."""
    av = load_av()
    if not path.is_file():
        raise RowError(f"media file not found: {path}")
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as err:
        raise RowError(f"cannot read media file {path}: {_reason(err)}") from None


def _cut(
    signal: np.ndarray,
    rate: int,
    start: float | None,
    end: float | None,
    path: Path,
    offset: float = 0.0,
) -> np.ndarray:
    """``[start, end)`` seconds of ``signal``, whose first sample is at ``offset`` seconds; a
    segment outside the signal is a `RowError`."""
    duration = offset + signal.shape[0] / rate
    first = 0.0 if start is None else start
    last = duration if end is None else end
    if first >= duration or last > duration + END_SLACK_S:
        raise RowError(
            f"segment [{first:.2f}, {last:.2f}) s is outside {path} ({duration:.2f} s of audio)"
        )
    begin = max(round((first - offset) * rate), 0)
    return signal[begin : max(round((min(last, duration) - offset) * rate), begin)]


def resample(signal: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling of a (samples,) signal from ``rate`` to ``target`` Hz."""
    if rate == target:
        return signal
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(signal, target // g, rate // g).astype(np.float32)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except ImportError:
        raise MissingExtraError("soundfile", "audio features") from None
    if not path.is_file():
        raise RowError(f"media file not found: {path}")
    try:
        signal, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as err:  # LibsndfileError is a RuntimeError
        raise RowError(f"cannot read audio file {path}: {err}") from None
    return signal.mean(axis=1), int(rate)


def _origin(container: Any) -> float:
    """The container's start time in seconds: what a player shows as 0:00.

    Not always 0: an mp3 starts after the encoder's priming samples (about 0.07 s), so stream
    times are taken relative to this origin, as the segment times of a table are.
    """
    return 0.0 if container.start_time is None else container.start_time / 1_000_000


def _read_av(
    path: Path, rate: int, start: float | None, end: float | None
) -> tuple[np.ndarray, float]:
    """Mono float32 at ``rate`` from about ``start`` (sought, then decoded) to past ``end`` or the
    file's end, and the time in seconds (from `_origin`) of its first sample."""
    av = load_av()
    with _open(path) as container:
        streams = container.streams.audio
        if not streams:
            raise RowError(f"{path} has no audio track")
        stream = streams[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        origin = _origin(container)
        offset = None
        chunks: list[np.ndarray] = []
        samples = 0
        try:
            if start and start > 1.0 and stream.time_base:
                container.seek(int((origin + start - 1.0) / stream.time_base), stream=stream)
            for frame in container.decode(stream):
                if offset is None:
                    offset = max(float(frame.time or 0.0) - origin, 0.0)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    samples += chunks[-1].shape[0]
                if end is not None and offset + samples / rate > end + 1:
                    break
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
        except (av.FFmpegError, ValueError) as err:
            raise RowError(f"cannot decode the audio of {path}: {_reason(err)}") from None
    if not chunks:
        raise RowError(f"{path} has an audio track with no samples")
    return np.concatenate(chunks).astype(np.float32), offset or 0.0


def read_audio(
    path: Path, *, start: float | None = None, end: float | None = None, rate: int = 16000
) -> np.ndarray:
    """(samples,) float32 mono at ``rate`` Hz of ``[start, end)`` seconds of ``path``'s audio."""
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        signal, native = _read_soundfile(path)
        if signal.shape[0] == 0:
            raise RowError(f"audio file {path} has no samples")
        segment = resample(_cut(signal, native, start, end, path), native, rate)
        span = min(end, signal.shape[0] / native) - (start or 0.0) if end else None
        return segment if span is None else segment[: round(span * rate)]
    signal, offset = _read_av(path, rate, start, end)
    return _cut(signal, rate, start, end, path, offset)


def sample_frames(
    path: Path,
    *,
    fps: float,
    start: float | None = None,
    end: float | None = None,
    max_side: int = 640,
) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB frames of ``[start, end)`` at about ``fps`` per second.

    A frame is kept when its time reaches the next sampling instant, so a 25 fps video sampled at
    5 fps keeps every fifth frame. Frames are scaled down so the longer side is at most
    ``max_side`` pixels (the face models need no more, and decoding stays cheap).
    """
    av = load_av()
    with _open(path) as container:
        if not container.streams.video:
            raise RowError(f"{path} has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first = 0.0 if start is None else start
        origin = _origin(container)
        if first > 1.0 and stream.time_base:
            container.seek(int((origin + first - 1.0) / stream.time_base), stream=stream)
        next_time = first
        try:
            for frame in container.decode(stream):
                time = float(frame.time or 0.0) - origin
                if end is not None and time >= end:
                    return
                if time + 1e-6 < next_time:
                    continue
                next_time += 1.0 / fps
                if next_time <= time:  # a gap in the video: sample again one period from here
                    next_time = time + 1.0 / fps
                scale = min(1.0, max_side / max(frame.width, frame.height))
                width = max(2, round(frame.width * scale / 2) * 2)
                height = max(2, round(frame.height * scale / 2) * 2)
                yield frame.to_ndarray(format="rgb24", width=width, height=height)
        except (av.FFmpegError, ValueError) as err:
            raise RowError(f"cannot decode the video of {path}: {_reason(err)}") from None


def media_duration(path: Path) -> float | None:
    """The container's duration in seconds, or None when it does not say."""
    with _open(path) as container:
        if container.duration is None:
            return None
        return container.duration / 1_000_000
