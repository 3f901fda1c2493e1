"""The model vocabulary, read from the model files without importing them.

Every model is declared once, by its ``@register_model("name", label=..., paper_parameters=...,
kind=...)`` decorator in its own file (model/iteach.py, model/baselines/<name>.py). The CLI needs
the names (``--model`` choices, shell completion, ``--help``) before any model is built, and
``--help`` must not import torch, so this module parses those decorators with ``ast`` instead of
executing the files: the decorator is the one declaration, read statically here and executed by
model/registry.py at run time (tests hold the two views equal). Its arguments must therefore be
literals; a computed one is an error naming the file and line.

Kinds: ``framework`` (``iteach``: teacher and student trained by the framework), ``baseline``
(trained alone on masked inputs), ``encoder`` (a teacher / student of the framework:
``attention``, ``nas``), ``preset`` (named builds such as ``iteach_teacher``, not a CLI choice).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1]
MODEL_FOLDERS: list[Path] = [APP / "model", APP / "model" / "baselines"]
"""Folders whose modules declare models (files starting with "_" are helpers, not models)."""

KINDS = ("framework", "baseline", "encoder", "preset")
MODEL_KINDS = ("framework", "baseline")  # what --model accepts
ROLE_KINDS = ("encoder",)  # what --teacher / --student accept


@dataclass(frozen=True)
class ModelDeclaration:
    """One ``@register_model`` call as written in a model file."""

    name: str
    label: str
    paper_parameters: float | None
    kind: str
    file: Path


def model_files() -> list[Path]:
    """The model modules of every folder in `MODEL_FOLDERS`, sorted within each folder."""
    return [
        path
        for folder in MODEL_FOLDERS
        for path in sorted(folder.glob("*.py"))
        if not path.name.startswith("_")
    ]


def declared_models() -> dict[str, ModelDeclaration]:
    """Every declared model by name, in file order; a name declared twice is an error."""
    return dict(_declared(tuple(model_files())))


@functools.cache
def _declared(files: tuple[Path, ...]) -> tuple[tuple[str, ModelDeclaration], ...]:
    found: dict[str, ModelDeclaration] = {}
    for path in files:
        for declaration in _read(path):
            if declaration.name in found:
                raise ValueError(
                    f"{path}: model {declaration.name!r} is already declared in "
                    f"{found[declaration.name].file}"
                )
            found[declaration.name] = declaration
    return tuple(found.items())


DECORATOR = re.compile(r"^@(?:[\w.]+\.)?register_model\(", re.MULTILINE)
MAX_DECORATOR_LINES = 20


def _read(path: Path) -> list[ModelDeclaration]:
    """The register_model decorators of one file. Only each decorator's own lines are parsed
    (not the whole file): --help reads every model file, and a full parse costs ten times more."""
    text = path.read_text(encoding="utf-8")
    out = []
    for match in DECORATOR.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        lines = text[match.start() + 1 :].split("\n", MAX_DECORATOR_LINES)
        for end in range(1, min(len(lines), MAX_DECORATOR_LINES) + 1):
            try:
                node = ast.parse("\n".join(lines[:end]).strip(), mode="eval").body
            except SyntaxError:
                continue
            if isinstance(node, ast.Call):
                out.append(_declaration(path, node, line))
            break
        else:
            raise ValueError(f"{path}:{line}: cannot read this register_model decorator")
    return out


def _declaration(path: Path, call: ast.Call, line: int) -> ModelDeclaration:
    where = f"{path}:{line}"
    try:
        (name,) = [ast.literal_eval(arg) for arg in call.args]
        options = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (ValueError, TypeError):
        raise ValueError(
            f"{where}: register_model takes the name and literal label= / paper_parameters= / "
            "kind= (the CLI reads them without running the file)"
        ) from None
    kind = options.get("kind", "baseline")
    if not isinstance(name, str) or kind not in KINDS:
        raise ValueError(f"{where}: model name must be a string and kind one of {KINDS}")
    paper = options.get("paper_parameters")
    return ModelDeclaration(
        name=name,
        label=str(options.get("label") or name),
        paper_parameters=None if paper is None else float(paper),
        kind=kind,
        file=path,
    )


def names_of_kind(*kinds: str) -> tuple[str, ...]:
    """Declared model names of the given kinds, in declaration order."""
    return tuple(name for name, d in declared_models().items() if d.kind in kinds)


def model_choices() -> tuple[str, ...]:
    """The values ``--model`` accepts: ``iteach`` and every baseline."""
    return names_of_kind(*MODEL_KINDS)


def role_choices() -> tuple[str, ...]:
    """The values ``--teacher`` / ``--student`` accept."""
    return names_of_kind(*ROLE_KINDS)


def model_display_label(name: str) -> str:
    """The display label declared for ``name`` (the name itself if it is not declared)."""
    declaration = declared_models().get(name)
    return declaration.label if declaration else name
