"""A librosa feature set: one (LIBROSA_DIM,) vector of spectral and prosodic statistics per signal.

Per 25 ms frame (10 ms hop) at the signal's rate: 20 MFCCs and their deltas, spectral centroid,
bandwidth, roll-off and flatness, zero-crossing rate, RMS energy, and the YIN pitch (65-500 Hz).
The vector holds the mean and standard deviation of each over the utterance, and the share of
frames whose pitch is in range with energy (a voicing proxy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iteach_app.extract.absent import RowError
from iteach_app.extract.errors import MissingExtraError

N_MFCC = 20
# mean and std of: mfcc, delta mfcc, centroid, bandwidth, rolloff, flatness, zcr, rms, f0 ; voiced
LIBROSA_DIM = 2 * (2 * N_MFCC + 7) + 1


def load_librosa() -> Any:
    try:
        import librosa
    except ImportError:
        raise MissingExtraError("librosa", "librosa audio features") from None
    return librosa


def librosa_vector(signal: np.ndarray, rate: int) -> np.ndarray:
    """(LIBROSA_DIM,) float32 statistics of the (samples,) float32 ``signal`` at ``rate`` Hz."""
    librosa = load_librosa()
    n_fft, hop = int(0.025 * rate), int(0.010 * rate)
    if signal.shape[0] < n_fft * 4:
        raise RowError(f"{signal.shape[0] / rate:.3f} s of audio is too short for librosa")
    y = np.ascontiguousarray(signal, dtype=np.float32)
    spectrum = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2
    mel = librosa.feature.melspectrogram(S=spectrum, sr=rate)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC)
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
    delta = librosa.feature.delta(mfcc, width=max(3, width)) if mfcc.shape[1] >= 3 else mfcc * 0
    magnitude = np.sqrt(spectrum)
    rms = librosa.feature.rms(S=magnitude, frame_length=n_fft)
    f0 = librosa.yin(
        y, fmin=65, fmax=500, sr=rate, frame_length=max(n_fft * 2, 2048), hop_length=hop
    )
    frames = min(rms.shape[1], f0.shape[0])
    voiced = (f0[:frames] < 495) & (rms[0, :frames] > 0.1 * rms.max())
    tracks = [
        mfcc,
        delta,
        librosa.feature.spectral_centroid(S=magnitude, sr=rate),
        librosa.feature.spectral_bandwidth(S=magnitude, sr=rate),
        librosa.feature.spectral_rolloff(S=magnitude, sr=rate),
        librosa.feature.spectral_flatness(S=magnitude),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
        rms,
        f0[None, :],
    ]
    stats = [np.concatenate([t.mean(axis=1), t.std(axis=1)]) for t in tracks]
    return np.concatenate([*stats, [voiced.mean()]]).astype(np.float32)
