"""Raw text, audio and video to per-utterance feature files for `iteach-app train --features`.

Needs the ``features`` extra (``pip install 'iteach-app[features]'``). The public names load on
first use (module ``__getattr__``), so importing this package or its errors (as the CLI does for
--help) imports neither numpy, torch nor the extra's packages.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "AUDIO_DIM": "audio",
    "Absences": "absent",
    "EXPRESSION_NAMES": "face",
    "EXTRACTORS": "audio",
    "FRAME_DIM": "face",
    "FaceModel": "face",
    "FeatureError": "errors",
    "LIBROSA_DIM": "librosa_set",
    "MODEL_PACKAGE": "text",
    "MediaRow": "rows",
    "MissingExtraError": "errors",
    "RowError": "absent",
    "TEXT_DIM": "text",
    "VIDEO_DIM": "video",
    "audio_dim": "audio",
    "embed_texts": "text",
    "extract_audio": "audio",
    "extract_egemaps": "audio",
    "extract_rows": "absent",
    "extract_video": "video",
    "frame_features": "face",
    "load_text_model": "text",
    "pool_frames": "video",
    "read_audio": "decode",
    "read_column": "table",
    "read_media_rows": "rows",
    "read_paths": "table",
    "read_sidecar": "sidecar",
    "read_vectors": "npz",
    "read_wav": "audio",
    "sample_frames": "decode",
    "sidecar_path": "sidecar",
    "text_model_info": "text",
    "write_sidecar": "sidecar",
    "write_vectors": "npz",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
