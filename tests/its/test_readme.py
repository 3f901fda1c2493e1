"""Every ```python block of the its-distill README runs as written, so the examples never rot."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[2] / "packages" / "its" / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_readme_has_the_examples() -> None:
    text = "\n".join(BLOCKS)
    assert len(BLOCKS) >= 3
    assert "nn.TransformerEncoder(" in text
    assert "optimizer.step()" in text
    assert "InvertedTeacherStudent(None" in text
    assert "BertForTokenClassification(config)" in text
    assert 'output_key="logits"' in text


# A stranger running an example sees no prototype warning of torch.
@pytest.mark.filterwarnings("error:The PyTorch API of nested tensors:UserWarning")
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index: int) -> None:
    if "from transformers import" in BLOCKS[index]:
        pytest.importorskip("transformers", reason="the Hugging Face recipe needs transformers")
    namespace: dict[str, object] = {"__name__": f"readme_block_{index}"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(BLOCKS[index], f"{README}:block{index}", "exec"), namespace)
    assert printed.getvalue()
    for value in namespace.values():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            assert torch.isfinite(value).all()
