"""Distribution metadata a stranger relies on: one version, license files, typing markers, links
that resolve inside the repository, citation and changelog in step with the version."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
PROJECTS = {
    "packages/ecce": "ecce",
    "packages/its": "its_distill",
    "packages/missing": "missing_modality",
    "packages/erc-data": "erc_data",
    "apps/iteach": "iteach_app",
}
LIBRARIES = [folder for folder in PROJECTS if folder.startswith("packages/")]
IMPORT_NAMES = {"scikit-learn": "sklearn", "its-distill": "its_distill"}
IMPORT_NAMES |= {"missing-modality": "missing_modality", "erc-data": "erc_data"}
IMPORT_NAMES |= {"tomli-w": "tomli_w"}


def _project(folder: str) -> dict:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text())


def test_version_file_is_a_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+)?", VERSION), VERSION


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_version_comes_from_the_version_file(folder: str) -> None:
    data = _project(folder)
    assert "version" not in data["project"]
    assert data["project"]["dynamic"] == ["version"]
    source = data["tool"]["hatch"]["version"]
    assert (ROOT / folder / source["path"]).resolve() == ROOT / "VERSION"
    assert re.search(source["pattern"], VERSION + "\n").group("version") == VERSION


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_installed_version_is_the_version_file(folder: str) -> None:
    module = importlib.import_module(PROJECTS[folder])
    assert module.__version__ == VERSION


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_python_classifiers_and_project_links(folder: str) -> None:
    """A classifier for each Python version CI tests (the one running this), and where the
    source, the issues and the changelog are."""
    project = _project(folder)["project"]
    running = f"Programming Language :: Python :: {sys.version_info[0]}.{sys.version_info[1]}"
    assert running in project["classifiers"]
    assert {"Source", "Issues", "Changelog"} <= set(project["urls"])


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_license_authors_classifiers_urls(folder: str) -> None:
    project = _project(folder)["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / folder / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert project["authors"]
    assert "Typing :: Typed" in project["classifiers"]
    for url in project.get("urls", {}).values():
        assert url.startswith("https://"), url
        assert "example" not in url, url


@pytest.mark.parametrize("folder", LIBRARIES)
def test_library_ships_py_typed(folder: str) -> None:
    assert (ROOT / folder / "src" / PROJECTS[folder] / "py.typed").is_file()


@pytest.mark.parametrize("folder", sorted(PROJECTS))
def test_every_declared_dependency_is_imported(folder: str) -> None:
    project = _project(folder)["project"]
    source = "\n".join(p.read_text() for p in (ROOT / folder / "src").rglob("*.py"))
    imported = set(re.findall(r"^\s*(?:from|import) ([A-Za-z_]\w*)", source, flags=re.M))
    for requirement in project["dependencies"]:
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
        assert IMPORT_NAMES.get(name, name) in imported, (
            f"{folder} declares {name}, never imports it"
        )


MARKDOWN = [ROOT / "README.md", ROOT / "CHANGELOG.md"] + [
    ROOT / folder / "README.md" for folder in ("packages/ecce", "packages/its")
]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(path: Path) -> None:
    text = path.read_text()
    assert "../shared" not in text
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{path.name}: {target} leaves the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"


def test_citation_cites_the_paper_and_this_version() -> None:
    yaml = pytest.importorskip("yaml", reason="reading CITATION.cff needs PyYAML")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == VERSION
    assert citation["license"] == "MIT"
    assert citation["repository-code"].startswith("https://")
    released = re.search(rf"## \[{re.escape(VERSION)}\] - (\d{{4}}-\d\d-\d\d)", CHANGELOG)
    assert str(citation["date-released"]) == released.group(1)
    (paper,) = citation["references"]
    assert paper["title"].startswith("ITEACH-Net: Inverted Teacher-studEnt seArCH Network")
    assert [a["family-names"] for a in paper["authors"]][:2] == ["Sun", "Lian"]
    assert {"type": "doi", "value": "10.48550/arXiv.2312.15583"} in paper["identifiers"]


def test_changelog_has_the_current_version() -> None:
    assert f"## [{VERSION}]" in (ROOT / "CHANGELOG.md").read_text()
