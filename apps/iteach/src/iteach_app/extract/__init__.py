"""Raw text and audio to per-utterance feature files for `iteach-app train --features`.

Needs the ``features`` extra (``pip install 'iteach-app[features]'``). The public names load on
first use (module ``__getattr__``), so importing this package or its errors (as the CLI does for
--help) imports neither torch nor the extra's packages.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "AUDIO_DIM": "audio",
    "extract_egemaps": "audio",
    "read_wav": "audio",
    "FeatureError": "errors",
    "MissingExtraError": "errors",
    "read_vectors": "npz",
    "write_vectors": "npz",
    "read_column": "table",
    "read_paths": "table",
    "MODEL_PACKAGE": "text",
    "TEXT_DIM": "text",
    "embed_texts": "text",
    "load_text_model": "text",
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
