"""Each package stands alone: it declares only DESIGN.md's dependencies and imports nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = {"ecce", "its_distill", "missing_modality", "erc_data", "iteach_app"}
HEAVY = {"timm", "typer", "torchvision", "safetensors", "matplotlib"}

# distribution folder -> (import name, the distributions DESIGN.md allows it to depend on)
PACKAGES = {
    "packages/ecce": ("ecce", {"torch", "einops"}),
    "packages/its": ("its_distill", {"torch"}),
    "packages/missing": ("missing_modality", {"torch", "numpy", "scikit-learn", "matplotlib"}),
    "packages/erc-data": ("erc_data", {"numpy", "torch"}),
}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_declares_only_design_dependencies(folder: str) -> None:
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        declared |= {_requirement_name(r) for r in extra}
    assert declared <= PACKAGES[folder][1], f"{folder} declares {declared - PACKAGES[folder][1]}"
    assert project["requires-python"] == ">=3.10"


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_imports_without_other_packages(folder: str) -> None:
    """Import the package with every sibling and every app-only dependency made unimportable."""
    name = PACKAGES[folder][0]
    blocked = sorted((WORKSPACE - {name}) | HEAVY)
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        BLOCKED = {blocked!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname, path=None, target=None):
                if fullname.split(".")[0] in BLOCKED:
                    raise ImportError("blocked for the isolation test: " + fullname)
                return None
        sys.meta_path.insert(0, Block())
        import {name}
        loaded = {{m.split(".")[0] for m in sys.modules}}
        print(sorted(loaded & set(BLOCKED)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
