"""The package imports and says its version."""

import ecce


def test_version() -> None:
    assert ecce.__version__ == "0.1.0"
