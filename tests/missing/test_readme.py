"""The missing-modality README's Python examples run as written, in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from missing_modality import UMEResult

README = Path(__file__).resolve().parents[2] / "packages" / "missing" / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_readme_examples_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(BLOCKS) >= 3
    monkeypatch.chdir(tmp_path)  # any file an example writes lands here
    namespace: dict[str, object] = {"__name__": "missing_readme"}
    for index, code in enumerate(BLOCKS):
        exec(compile(code, f"{README}:block{index}", "exec"), namespace)
    results = [value for value in namespace.values() if isinstance(value, UMEResult)]
    assert results, "the README's UME example produced no UMEResult"
