"""Raw text and audio to per-utterance feature files for `iteach-app train --features`.

Needs the ``features`` extra (``pip install 'iteach-app[features]'``); the heavy packages are
imported only when a model is loaded, so this package imports without them.
"""

from iteach_app.extract.audio import AUDIO_DIM, extract_egemaps, read_wav
from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.npz import read_vectors, write_vectors
from iteach_app.extract.table import read_column, read_paths
from iteach_app.extract.text import MODEL_PACKAGE, TEXT_DIM, embed_texts, load_text_model

__all__ = [
    "AUDIO_DIM",
    "MODEL_PACKAGE",
    "TEXT_DIM",
    "FeatureError",
    "MissingExtraError",
    "embed_texts",
    "extract_egemaps",
    "load_text_model",
    "read_column",
    "read_paths",
    "read_vectors",
    "read_wav",
    "write_vectors",
]
