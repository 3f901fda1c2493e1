"""The app README's Architecture section is apps/iteach/scripts/architecture.py's output for the
current tree (so it cannot drift), and the script reports what the tree holds: each module's first
docstring sentence, each part's imports, and the imports that run against the layering."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "apps" / "iteach" / "scripts" / "architecture.py"


def _script():
    spec = importlib.util.spec_from_file_location("architecture_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "iteach_app" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "iteach_app"


def test_the_readme_section_is_the_scripts_output() -> None:
    script = _script()
    readme = script.README.read_text(encoding="utf-8")
    assert script.rewrite(readme, script.render(script.SOURCE)) == readme, (
        "apps/iteach/README.md's Architecture section is stale: "
        "run python apps/iteach/scripts/architecture.py"
    )
    assert script.main(["--check"]) == 0


def test_a_tree_gives_its_modules_imports_and_upward_arrows(tmp_path: Path) -> None:
    source = _write(
        tmp_path,
        {
            "__init__.py": '"""The app."""\n',
            "io.py": '"""Atomic writes. More detail here."""\n',
            "config/__init__.py": '"""Settings."""\n',
            "config/schema.py": '"""Fields: one each.\n\nLater paragraph."""\n'
            "def f():\n    from iteach_app.model.registry import names\n",
            "model/__init__.py": '"""Models."""\nfrom iteach_app.config.schema import X\n',
            "model/registry.py": "import iteach_app.io\n",
            "model/layers/__init__.py": '"""Layers."""\n',
        },
    )
    text = _script().render(source)
    assert "- `io.py`: Atomic writes." in text
    assert "- `schema.py`: Fields: one each." in text
    assert "- `registry.py`: (no docstring)" in text
    assert "- `layers/`: see `model/layers/` below" in text
    assert "`model/layers/`: Layers." in text
    assert "- `config/` -> `model/`\n" in text
    assert "- `model/` -> `io`, `config/`\n" in text
    assert "- `model/layers/` -> nothing of the app\n" in text
    assert "Imports against the layering: `config/` -> `model/`." in text


def test_a_long_first_sentence_is_cut_outside_code_spans() -> None:
    script = _script()
    sentence = "Word " * 20 + "`a code span that runs past the cut " + "x " * 40 + "end`."
    cut = script.first_sentence(sentence)
    assert cut.endswith(" …")
    assert len(cut) <= script.MAX_SUMMARY
    assert cut.count("`") % 2 == 0
    assert script.first_sentence("Short. Second sentence.") == "Short."
    assert script.first_sentence(None) == "(no docstring)"


def test_a_part_outside_the_layers_is_named(tmp_path: Path) -> None:
    source = _write(tmp_path, {"__init__.py": "", "newpart/__init__.py": '"""New."""\n'})
    with pytest.raises(SystemExit, match=r"newpart/: not in architecture\.py's LAYERS"):
        _script().render(source)


def test_rewrite_needs_both_markers_once() -> None:
    script = _script()
    readme = f"# App\n\n{script.BEGIN}\nold\n{script.END}\ntail\n"
    assert script.rewrite(readme, "new\n") == f"# App\n\n{script.BEGIN}\nnew\n{script.END}\ntail\n"
    with pytest.raises(SystemExit, match="markers"):
        script.rewrite("# App without markers\n", "new\n")
