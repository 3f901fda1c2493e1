"""Per-utterance face features of video files: frame features pooled over the utterance.

Each utterance's ``[start, end)`` is sampled at ``fps`` frames per second; every sampled frame with
a face gives `face.frame_features` (148 values). The utterance's vector (297,) is their mean, their
standard deviation and the share of sampled frames that had a face. An utterance where no sampled
frame has a face is absent (left out of the file, a missing modality), never zeros.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from iteach_app.extract.absent import Absences, RowError, extract_rows
from iteach_app.extract.decode import media_duration, sample_frames
from iteach_app.extract.face import FRAME_DIM, FaceModel, frame_features
from iteach_app.extract.rows import MediaRow

VIDEO_DIM = 2 * FRAME_DIM + 1


def pool_frames(frames: np.ndarray, sampled: int) -> np.ndarray:
    """(297,) float32: mean and std over the (F, 148) face frames, then ``F / sampled``."""
    share = frames.shape[0] / sampled
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0), [share]]).astype(np.float32)


def utterance_vector(
    row: MediaRow, model: FaceModel, *, fps: float, max_side: int = 640
) -> np.ndarray:
    """The (297,) vector of one row's video; a row without frames or faces is a `RowError`."""
    assert row.path is not None  # rows without a path carry a problem and never get here
    sampled = 0
    faces: list[np.ndarray] = []
    for frame in sample_frames(row.path, fps=fps, start=row.start, end=row.end, max_side=max_side):
        sampled += 1
        points = model.landmarks(frame)
        if points is not None:
            faces.append(frame_features(points))
    if sampled == 0:
        duration = media_duration(row.path)
        length = "unknown length" if duration is None else f"{duration:.2f} s of video"
        raise RowError(f"no video frames in {row.segment_text()} of {row.path} ({length})")
    if not faces:
        raise RowError(
            f"no face in any of the {sampled} sampled frames of {row.path} ({row.segment_text()})"
        )
    return pool_frames(np.stack(faces), sampled)


def extract_video(
    rows: Iterable[MediaRow],
    *,
    fps: float = 5.0,
    upsample: int = 0,
    max_side: int = 640,
    strict: bool = False,
    show_progress: bool = True,
) -> tuple[dict[str, np.ndarray], Absences]:
    """``{utterance_id: (297,) float32}`` for the rows with a face, and the absent rows."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    model = FaceModel(upsample=upsample)
    return extract_rows(
        rows,
        lambda row: utterance_vector(row, model, fps=fps, max_side=max_side),
        modality="video",
        strict=strict,
        show_progress=show_progress,
    )
