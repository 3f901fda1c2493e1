"""The package imports and says its version."""

import its_distill


def test_version() -> None:
    assert its_distill.__version__ == "0.1.0"
