"""The package imports and says its version."""

import iteach_app


def test_version() -> None:
    assert iteach_app.__version__ == "0.1.0"
