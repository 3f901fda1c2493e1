"""openSMILE eGeMAPS v02 functionals: one (88,) float32 prosody / voice vector per wav file."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.progress import progress_bar

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
