"""The command line starts without torch: --help, --version, every command's --help and shell
completion import none of the heavy packages (they load inside the command that needs them).

Measured by the modules a fresh interpreter holds after the CLI ran, not by the time it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "timm", "torchvision", "safetensors", "numpy")
PROBE = textwrap.dedent(
    """
    import json, sys
    from iteach_app.cli import app
    try:
        app(sys.argv[1:], prog_name="iteach-app")
    except SystemExit:
        pass
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
    """
)


def _loaded(args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    return set(modules) & set(HEAVY), done.stdout


COMMANDS = [
    ["--help"],
    ["-h"],
    ["--version"],
    ["train", "-h"],
    *(
        [*command, "--help"]
        for command in (
            ["train"],
            ["evaluate"],
            ["predict"],
            ["plot"],
            ["demo"],
            ["params"],
            ["compare"],
            ["sweep"],
            ["data", "info"],
            ["data", "audit"],
            ["data", "synth"],
            ["features", "text"],
            ["features", "audio"],
        )
    ),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_help_and_version_import_no_heavy_package(args: list[str]) -> None:
    heavy, out = _loaded(args)
    assert out.strip(), f"{args} printed nothing"
    assert not heavy, f"iteach-app {' '.join(args)} imported {sorted(heavy)}"


@pytest.mark.parametrize(
    "words", ["iteach-app tr", "iteach-app train --mo", "iteach-app data ", "iteach-app features "]
)
def test_shell_completion_imports_no_heavy_package(words: str) -> None:
    env = {
        "_ITEACH_APP_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    heavy, out = _loaded([], env)
    assert out.strip(), f"no completion for {words!r}"
    assert not heavy, f"completing {words!r} imported {sorted(heavy)}"


def test_missing_modality_imports_without_scikit_learn() -> None:
    script = (
        "import sys, missing_modality; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def test_schema_restates_the_packages_constants() -> None:
    from iteach_app.config import schema
    from iteach_app.model.iteach import ECCE_KINDS
    from its_distill import PAPER_LAYER_WEIGHTS
    from missing_modality import DEFAULT_RATES

    assert schema.PAPER_LAYER_WEIGHTS == PAPER_LAYER_WEIGHTS
    assert schema.DEFAULT_RATES == DEFAULT_RATES
    assert ECCE_KINDS == ("full", "global", "none")


def test_extract_names_still_resolve() -> None:
    import iteach_app.extract as extract

    assert extract.TEXT_DIM == 384
    assert callable(extract.embed_texts)
    with pytest.raises(AttributeError):
        _ = extract.no_such_name
