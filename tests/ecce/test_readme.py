"""The package README's Python examples run as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "packages" / "ecce" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize(
    "call",
    [
        "F.scaled_dot_product_attention(",
        "nn.MultiheadAttention(",
        "BiasedTransformerEncoder(nn.TransformerEncoder(",
        "Block(64, num_heads=4)(x, attn_mask=",
        "Attention(64, num_heads=4)(x, attn_mask=",
        "bert(inputs_embeds=x, attention_mask=to_sdpa_mask(",
    ],
)
def test_readme_has_the_recipe(call: str) -> None:
    assert any(call in block for block in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str) -> None:
    for package in ("timm", "transformers"):
        if f"from {package}" in code:
            pytest.importorskip(package, reason=f"this recipe needs {package}; ecce does not")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), {})
