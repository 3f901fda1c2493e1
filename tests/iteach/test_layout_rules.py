"""The app layout's checkable rules (apps/iteach/README.md, Architecture): Typer only in cli.py and
commands/, run file names only in training/run_folder.py, no import circles between modules,
training/ never imports report/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import iteach_app

SOURCE = Path(iteach_app.__file__).parent


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts): path
        for path in SOURCE.rglob("*.py")
    }


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_only_cli_and_commands_import_typer() -> None:
    offenders = [
        name
        for name, path in _modules().items()
        if any(i == "typer" or i.startswith("typer.") for i in _imports(path))
        and not (name == "iteach_app.cli" or name.startswith("iteach_app.commands."))
    ]
    assert offenders == []


def test_only_the_run_folder_spells_run_file_names() -> None:
    spelled = re.compile(r"[\"'](?:ume\.json|metrics\.json|config\.toml|last\.safetensors)[\"']")
    offenders = [
        name
        for name, path in _modules().items()
        if spelled.search(path.read_text()) and name != "iteach_app.training.run_folder"
    ]
    assert offenders == []


def test_no_import_circles() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules and i != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_training_does_not_import_report() -> None:
    """Report code (titles, labels, figures, the audit) sits above training: a command passes
    what the trainer shows in (its title, its audit lines)."""
    offenders = [
        name
        for name, path in _modules().items()
        if name.startswith("iteach_app.training.")
        and any(
            i == "iteach_app.report" or i.startswith("iteach_app.report.") for i in _imports(path)
        )
    ]
    assert offenders == []
