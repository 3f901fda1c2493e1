"""What installing the app brings along: nothing that can replace a user's torch, a lower bound on
every third-party requirement that the code really needs, and the four siblings at this version."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()
SIBLINGS = {"ecce", "its-distill", "missing-modality", "erc-data"}
FOLDERS = ["packages/ecce", "packages/its", "packages/missing", "packages/erc-data", "apps/iteach"]
# timm pulls torchvision, whose newest release pins the newest torch: pip then replaces the
# user's torch (and adds gigabytes of CUDA wheels) to satisfy it.
NEVER = {"timm", "torchvision", "torchaudio"}


def _requirements(folder: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        found += [Requirement(r) for r in extra]
    return found


@pytest.mark.parametrize("folder", FOLDERS)
def test_nothing_that_replaces_torch(folder: str) -> None:
    names = {r.name.lower() for r in _requirements(folder)}
    assert not names & NEVER, f"{folder} depends on {sorted(names & NEVER)}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_third_party_requirement_has_a_lower_bound(folder: str) -> None:
    for requirement in _requirements(folder):
        if requirement.name in SIBLINGS:
            continue
        bounds = [spec for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
        assert bounds, f"{folder}: {requirement} has no lower bound"


def test_app_pins_its_siblings_to_this_version() -> None:
    project = tomllib.loads((ROOT / "apps/iteach/pyproject.toml").read_text())["project"]
    pins = {
        r.name: str(r.specifier)
        for r in map(Requirement, project["dependencies"])
        if r.name in SIBLINGS
    }
    assert pins == dict.fromkeys(SIBLINGS, f"=={VERSION}")


def test_typer_bound_covers_the_private_click_module() -> None:
    """The CLI imports ``typer._click`` (typer's vendored click), first shipped in typer 0.26."""
    source = "\n".join(p.read_text() for p in (ROOT / "apps/iteach/src").rglob("*.py"))
    (typer,) = [r for r in _requirements("apps/iteach") if r.name == "typer"]
    if re.search(r"^\s*from typer\._click", source, flags=re.M):
        assert not typer.specifier.contains("0.25.1"), f"{typer}: 0.25 has no typer._click"
        assert typer.specifier.contains("0.26.0")
