"""iteach_app: ITEACH-Net composed from ecce, its-distill, missing-modality and erc-data."""

from importlib import metadata as _metadata
from typing import Any

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("iteach-app")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# Imported on first use, so `import iteach_app` (and the CLI's start) stays cheap: no torch.
_LAZY = {"StreamingPredictor": "iteach_app.streaming", "Prediction": "iteach_app.streaming"}

__all__ = ["Prediction", "StreamingPredictor", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'iteach_app' has no attribute {name!r}")
