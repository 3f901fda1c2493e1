"""iteach_app: ITEACH-Net composed from ecce, its-distill, missing-modality and erc-data."""

from importlib import metadata as _metadata

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("iteach-app")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
