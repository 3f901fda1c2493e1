"""The erc-data README's Python examples run as written, in order, from the repository root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "erc-data" / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_readme_examples_run_in_order(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples read ``DATA`` (the user's copy of the release) from the working folder: here a
    link to the shared data, as a user with the data in ``DATA`` runs them."""
    assert len(BLOCKS) >= 5
    (tmp_path / "DATA").symlink_to(shared_data.resolve(), target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERC_DATA_CACHE", str(tmp_path / "cache"))
    namespace: dict[str, object] = {"__name__": "erc_data_readme"}
    for index, code in enumerate(BLOCKS):
        exec(compile(code, f"{README}:block{index}", "exec"), namespace)
    assert namespace["ds"].num_utterances > 0


@pytest.mark.parametrize("marker", ["write_gcnet_layout(", "load_conversations(", "Standardizer()"])
def test_examples_for_users_without_the_release_run_alone(marker: str) -> None:
    """The synthetic-data and own-conversations examples are what a user without the release
    starts from: each runs on its own, in a fresh namespace, with nothing from the blocks above."""
    (code,) = [block for block in BLOCKS if marker in block]
    exec(compile(code, f"{README}:{marker}", "exec"), {"__name__": "erc_data_readme_alone"})
