"""Audio features per utterance: openSMILE eGeMAPS v02 functionals (88,) or a librosa set.

`extract_egemaps` reads whole wav files at their own rate; `extract_audio` reads the
``[start, end)`` segment of any media file at 16 kHz mono (see `decode.read_audio`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from iteach_app.extract.absent import Absences, RowError, extract_rows
from iteach_app.extract.decode import read_audio
from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.librosa_set import LIBROSA_DIM, librosa_vector, load_librosa
from iteach_app.extract.progress import progress_bar
from iteach_app.extract.rows import MediaRow

AUDIO_DIM = 88


def _load_smile() -> Any:
    """An openSMILE extractor for eGeMAPSv02 at the functionals level (one row per signal)."""
    try:
        import opensmile
    except ImportError:
        raise MissingExtraError("opensmile", "audio features") from None
    return opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(samples,) float32 mono signal (channels averaged) and its sampling rate."""
    try:
        import soundfile
    except ImportError:
        raise MissingExtraError("soundfile", "audio features") from None
    if not path.is_file():
        raise FeatureError(f"audio file not found: {path}")
    try:
        signal, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (
        RuntimeError,
        OSError,
        ValueError,
    ) as err:  # soundfile.LibsndfileError is a RuntimeError
        raise FeatureError(f"cannot read audio file {path}: {err}") from None
    if signal.shape[0] == 0:
        raise FeatureError(f"audio file {path} has no samples")
    return signal.mean(axis=1), int(rate)


def extract_egemaps(
    wav_files: Mapping[str, str | Path], *, show_progress: bool = True
) -> dict[str, np.ndarray]:
    """``{utterance_id: (88,) float32}`` eGeMAPS functionals for ``{utterance_id: wav file}``."""
    smile = _load_smile()
    vectors: dict[str, np.ndarray] = {}
    with progress_bar(show_progress) as bar:
        task = bar.add_task("eGeMAPS", total=len(wav_files))
        for uid, file in wav_files.items():
            path = Path(file)
            signal, rate = read_wav(path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Segment too short": checked below
                row = smile.process_signal(signal, rate).to_numpy(dtype=np.float32)
            if row.shape != (1, AUDIO_DIM) or not np.isfinite(row).all():
                raise FeatureError(
                    f"audio file {path} gives no eGeMAPS vector (NaN or shape {row.shape}); "
                    f"is it too short? {signal.shape[0]} samples at {rate} Hz"
                )
            vectors[uid] = row[0]
            bar.advance(task)
    return vectors


def egemaps_vector(smile: Any, signal: np.ndarray, rate: int) -> np.ndarray:
    """(88,) float32 eGeMAPS functionals of one signal; too short or silent is a `RowError`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Segment too short": checked below
        row = smile.process_signal(signal, rate).to_numpy(dtype=np.float32)
    if row.shape != (1, AUDIO_DIM) or not np.isfinite(row).all():
        raise RowError(
            f"no eGeMAPS vector (NaN or shape {row.shape}) for {signal.shape[0] / rate:.3f} s "
            "of audio; is the segment too short?"
        )
    return row[0]


EXTRACTORS = ("egemaps", "librosa")


def audio_dim(extractor: str) -> int:
    """The vector width of ``extractor`` (88 for eGeMAPS, LIBROSA_DIM for librosa)."""
    return AUDIO_DIM if extractor == "egemaps" else LIBROSA_DIM


def extract_audio(
    rows: Iterable[MediaRow],
    *,
    extractor: str = "egemaps",
    rate: int = 16000,
    strict: bool = False,
    show_progress: bool = True,
) -> tuple[dict[str, np.ndarray], Absences]:
    """``{utterance_id: vector}`` of each row's ``[start, end)`` audio at ``rate`` Hz mono.

    Any container PyAV or soundfile reads (wav, flac, mp3, mp4, mkv, ...). Rows that cannot give
    a vector are absent (see `absent.extract_rows`).
    """
    if extractor not in EXTRACTORS:
        raise FeatureError(f"unknown audio extractor {extractor!r}; choose from {EXTRACTORS}")
    if extractor == "egemaps":
        smile = _load_smile()

        def vector(signal: np.ndarray) -> np.ndarray:
            return egemaps_vector(smile, signal, rate)
    else:
        load_librosa()

        def vector(signal: np.ndarray) -> np.ndarray:
            return librosa_vector(signal, rate)

    def one(row: MediaRow) -> np.ndarray:
        assert row.path is not None  # rows without a path carry a problem and never get here
        return vector(read_audio(row.path, start=row.start, end=row.end, rate=rate))

    return extract_rows(
        rows, one, modality=f"audio ({extractor})", strict=strict, show_progress=show_progress
    )
