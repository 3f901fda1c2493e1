"""The package imports and says the repository's one version (the VERSION file)."""

from pathlib import Path

import missing_modality

VERSION = (Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()


def test_version() -> None:
    assert missing_modality.__version__ == VERSION
