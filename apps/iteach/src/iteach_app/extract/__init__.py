"""Raw text, audio and video to per-utterance feature files for `iteach-app train --features`.

Needs the ``features`` extra (``pip install 'iteach-app[features]'``); the heavy packages are
imported only when a model is loaded or a file decoded, so this package imports without them.
"""

from iteach_app.extract.absent import Absences, RowError, extract_rows
from iteach_app.extract.audio import (
    AUDIO_DIM,
    EXTRACTORS,
    audio_dim,
    extract_audio,
    extract_egemaps,
    read_wav,
)
from iteach_app.extract.decode import read_audio, sample_frames
from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.face import EXPRESSION_NAMES, FRAME_DIM, FaceModel, frame_features
from iteach_app.extract.librosa_set import LIBROSA_DIM
from iteach_app.extract.npz import read_vectors, write_vectors
from iteach_app.extract.rows import MediaRow, read_media_rows
from iteach_app.extract.sidecar import read_sidecar, sidecar_path, write_sidecar
from iteach_app.extract.table import read_column, read_paths
from iteach_app.extract.text import (
    MODEL_PACKAGE,
    TEXT_DIM,
    embed_texts,
    load_text_model,
    text_model_info,
)
from iteach_app.extract.video import VIDEO_DIM, extract_video, pool_frames

__all__ = [
    "AUDIO_DIM",
    "EXPRESSION_NAMES",
    "EXTRACTORS",
    "FRAME_DIM",
    "LIBROSA_DIM",
    "MODEL_PACKAGE",
    "TEXT_DIM",
    "VIDEO_DIM",
    "Absences",
    "FaceModel",
    "FeatureError",
    "MediaRow",
    "MissingExtraError",
    "RowError",
    "audio_dim",
    "embed_texts",
    "extract_audio",
    "extract_egemaps",
    "extract_rows",
    "extract_video",
    "frame_features",
    "load_text_model",
    "pool_frames",
    "read_audio",
    "read_column",
    "read_media_rows",
    "read_paths",
    "read_sidecar",
    "read_vectors",
    "read_wav",
    "sample_frames",
    "sidecar_path",
    "text_model_info",
    "write_sidecar",
    "write_vectors",
]
