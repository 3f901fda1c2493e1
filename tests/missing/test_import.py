"""The package imports and says its version."""

import missing_modality


def test_version() -> None:
    assert missing_modality.__version__ == "0.1.0"
