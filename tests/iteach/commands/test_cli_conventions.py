"""Command-line conventions: shell completion, --log-file, a default shown for every option."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import pytest
import typer.main
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from iteach_app.cli import app, hoist_global_options
from iteach_app.commands.help_defaults import show_every_default
from iteach_app.console_log import ConsoleTee

runner = CliRunner()


def test_completion_script_is_offered() -> None:
    """In a fresh interpreter, as a shell would call it (no state left by other tests)."""
    command = [sys.executable, "-c", "from iteach_app.cli import app; app(prog_name='iteach-app')"]
    result = subprocess.run(
        [*command, "--show-completion", "bash"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "_ITEACH_APP_COMPLETE=complete_bash" in result.stdout


def _options(command, path=()):
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _options(sub, (*path, name))
        return
    for param in command.params:
        if isinstance(param, TyperOption) and not param.is_flag and param.name != "help":
            yield " ".join(path), param


def _says_default(param: TyperOption) -> bool:
    if "default" in (param.help or "") or isinstance(param.show_default, str):
        return True
    return param.show_default is True and param.default is not None


def test_every_option_shows_its_default() -> None:
    command = typer.main.get_command(app)
    show_every_default(command)
    missing = [
        f"{where} {param.opts[0]}" for where, param in _options(command) if not _says_default(param)
    ]
    assert missing == []


def test_train_help_shows_generated_defaults() -> None:
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert "[default: (8)]" in result.output  # --num-heads, from the schema
    assert "[default: (preset default 0.001, paper 0.0005)]" in result.output  # --lr
    assert "[default: (none)]" in result.output  # --data: not given


def test_tee_keeps_finished_plain_lines_without_bars() -> None:
    terminal, log = io.StringIO(), io.StringIO()
    logger = logging.getLogger("test_tee")
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("12:00 %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    tee = ConsoleTee(terminal, logger)
    tee.write("\x1b[1mepoch 1\x1b[0m  loss 0.5\n")
    tee.write("\x1b[?25lepochs ━━━━ 1/3\r\x1b[2K\x1b[1Aepoch 2 ━━ 5/8")
    tee.write("\r\x1b[2Kdone ")
    tee.write("here\n")
    assert log.getvalue() == "12:00 epoch 1  loss 0.5\n12:00 done here\n"
    assert terminal.getvalue().startswith("\x1b[1mepoch 1")


def test_log_file_appends_what_the_console_shows(tmp_path) -> None:
    log = tmp_path / "logs" / "app.log"
    for _ in range(2):
        result = runner.invoke(app, ["--log-file", str(log), "evaluate", str(tmp_path / "none")])
        assert result.exit_code == 2
    text = log.read_text()
    assert text.count("iteach-app --log-file") <= 2
    assert text.count("is not an iteach-app run folder") == 2
    assert "\x1b" not in text
    line = next(line for line in text.splitlines() if "is not an iteach-app run" in line)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d error: ", line), line


@pytest.mark.parametrize("where", ["before", "after"])
def test_log_file_works_on_either_side_of_the_command(tmp_path, where) -> None:
    log, command = tmp_path / "app.log", ["evaluate", str(tmp_path / "none")]
    option = ["--log-file", str(log)]
    args = option + command if where == "before" else command + option
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "is not an iteach-app run folder" in log.read_text()
    assert hoist_global_options([*command, f"--log-file={log}"]) == [f"--log-file={log}", *command]


def test_help_has_no_placeholders_or_validation_prefixes() -> None:
    for args in (["--help"], ["evaluate", "-h"], ["compare", "--help"], ["sweep", "--help"]):
        shown = runner.invoke(app, args, env={"COLUMNS": "200"}).output
        for leak in ("<bool>", "{run", "{protocol}", "<list["):
            assert leak not in shown, f"{args}: {leak} in the help"
    error = runner.invoke(app, ["evaluate", "x", "--split", "bogus"]).output
    assert "Value error" not in error
    assert "'bogus' is not one of" in error


def test_a_modality_typo_names_the_valid_names(tmp_path) -> None:
    result = runner.invoke(
        app, ["data", "info", "--data", str(tmp_path), "--dataset", "IEMOCAPFour",
              "--features", "txt=minilm-384-UTT"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'txt' is not a modality of IEMOCAPFour; valid names: text, audio, video" in (
        result.output
    )


@pytest.mark.parametrize("where", ["folder", "under a file"])
def test_log_file_that_cannot_be_written_is_one_line(tmp_path, where) -> None:
    target = tmp_path
    if where == "under a file":
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "app.log"
    result = runner.invoke(app, ["--log-file", str(target), "params"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --log-file")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_flags_show_no_value_placeholder() -> None:
    result = runner.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    json_line = next(line for line in result.output.splitlines() if "--json" in line)
    assert "<bool>" not in json_line
