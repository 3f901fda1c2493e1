"""its_distill needs torch alone: it declares only torch and imports none of the other packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "packages" / "its" / "pyproject.toml"
FORBIDDEN = (
    "timm",
    "typer",
    "einops",
    "sklearn",
    "scipy",
    "pandas",
    "matplotlib",
    "safetensors",
    "ecce",
    "missing_modality",
    "erc_data",
    "iteach_app",
)

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    FORBIDDEN = {forbidden!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"its_distill must not import {{name}}")
            return None

    sys.meta_path.insert(0, Block())
    import torch
    import its_distill

    teacher, student = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    its = its_distill.InvertedTeacherStudent(
        teacher, student, teacher_layers=[""], student_layers=[""], layer_weights=(1.0,)
    )
    x = torch.randn(4, 3)
    its(x, x, torch.tensor([0, 1, 1, 0])).loss.backward()
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(FORBIDDEN))
    assert not loaded, loaded
    print("ok")
    """
)


def test_pyproject_declares_torch_only() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert project["name"] == "its-distill"
    assert [d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]] == ["torch"]
    assert "optional-dependencies" not in project


def test_imports_and_runs_with_the_others_blocked() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(forbidden=FORBIDDEN)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "ok"
