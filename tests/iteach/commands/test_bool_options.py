"""Every yes/no setting can be turned on and off from the command line (`--audit` /
`--no-audit`), and a flag not given stays None so the preset and --config decide."""

from __future__ import annotations

import typing

import pytest
import typer
from typer.testing import CliRunner

from iteach_app.commands.options import config_options
from iteach_app.config.schema import FIELDS, TrainConfig

BOOLEANS = [
    name
    for name, hint in typing.get_type_hints(TrainConfig).items()
    if bool in (hint, *typing.get_args(hint)) and FIELDS[name].metadata.get("cli", True)
]


def _overrides(*args: str) -> dict:
    seen: dict = {}
    app = typer.Typer()

    @app.command()
    @config_options()
    def record(overrides: dict) -> None:
        seen.update(overrides)

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return seen


def test_the_schema_has_settings_that_default_to_on() -> None:
    assert {"audit", "bucket_forward"} <= set(BOOLEANS)


@pytest.mark.parametrize("name", BOOLEANS)
def test_each_yes_no_setting_has_both_flags(name: str) -> None:
    dashed = name.replace("_", "-")
    assert _overrides(f"--{dashed}")[name] is True
    assert _overrides(f"--no-{dashed}")[name] is False
    assert _overrides()[name] is None
