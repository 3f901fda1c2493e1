"""The package imports and says its version."""

import erc_data


def test_version() -> None:
    assert erc_data.__version__ == "0.1.0"
