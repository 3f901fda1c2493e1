"""The `iteach-app` command line: assembles the commands of commands/ and turns every user
error into one line naming its culprit, exit code 2 (a traceback only with --debug)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from iteach_app import __version__
from iteach_app.commands import (
    compare,
    data,
    demo,
    evaluate,
    export,
    grid,
    params,
    plot,
    predict,
    serve,
    sweep,
    train,
    tune,
)
from iteach_app.commands.features import app as features_app
from iteach_app.commands.help_defaults import show_every_default
from iteach_app.commands.options import upgrade_legacy_flags
from iteach_app.console_log import start_tee, stop_tee
from iteach_app.fast_exit import finish


class OneLineErrors(TyperGroup):
    """Usage errors (unknown option, bad choice, bad number) as one `error:` line, exit code 2."""

    def main(
        self, args: list[str] | None = None, *rest: Any, standalone_mode: bool = True, **kwargs: Any
    ) -> Any:
        show_every_default(self)
        args = hoist_global_options(sys.argv[1:] if args is None else list(args))
        args = upgrade_legacy_flags(args)
        args = (args, *rest)
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as err:
            err.show()
            sys.exit(err.exit_code)
        except ClickException as err:
            typer.echo(f"error: {_one_line(err.format_message())}", err=True)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}  # subcommands inherit them
GLOBAL_OPTIONS = ("--log-file",)  # options of the group that take a value


def hoist_global_options(args: list[str]) -> list[str]:
    """Move ``--log-file PATH`` (or ``--log-file=PATH``) given after the subcommand to the front,
    so it works on either side of the command, as a user types it."""
    front, rest, index = [], [], 0
    while index < len(args):
        arg = args[index]
        if arg in GLOBAL_OPTIONS and index + 1 < len(args):
            front += args[index : index + 2]
            index += 2
            continue
        if arg.split("=", 1)[0] in GLOBAL_OPTIONS and "=" in arg:
            front.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


def _one_line(message: str) -> str:
    """A message on one line, without the "Value error, " that typer's validation prepends."""
    return " ".join(message.replace("Value error, ", "").split())


app = typer.Typer(
    cls=OneLineErrors,
    help="ITEACH-Net for incomplete multimodal emotion recognition in conversation.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
)
data_app = typer.Typer(
    cls=OneLineErrors, help="Inspect a dataset or write a synthetic one.", no_args_is_help=True
)
_debug = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iteach-app {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="append a plain-text copy of what the console shows to this file, each line "
            "timestamped (before or after the command)"
        ),
    ] = None,
) -> None:
    """ITEACH-Net for incomplete multimodal emotion recognition in conversation."""
    _debug["on"] = debug
    if log_file is not None:
        try:
            streams = start_tee(log_file)
        except OSError as err:
            if debug:
                raise
            typer.echo(f"error: {' '.join(str(err).split())}", err=True)
            raise typer.Exit(2) from None
        ctx.call_on_close(lambda: stop_tee(*streams))


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A user error (bad value, file, folder, checkpoint, device) -> `error: ...`, exit 2."""

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError, KeyError) as err:
            if _debug["on"]:
                raise
            text = " ".join(str(err).split()) or type(err).__name__
            typer.echo(f"error: {text}", err=True)
            raise typer.Exit(2) from None

    return command


for module, name in ((train, "train"), (evaluate, "evaluate"), (demo, "demo"), (plot, "plot")):
    app.command(name)(one_line_errors(getattr(module, name)))
app.command("predict")(one_line_errors(predict.predict))
app.command("serve")(one_line_errors(serve.serve))
app.command("export")(one_line_errors(export.export))
app.command("params")(params.params)
app.command("compare")(one_line_errors(compare.compare))
sweep_app = typer.Typer(
    cls=OneLineErrors,
    help="Many runs: the paper's IME / Figure 8 protocols, or a grid of settings from a file.",
    no_args_is_help=True,
)
for protocol in ("ime", "fig8"):
    sweep_app.command(protocol)(one_line_errors(sweep.protocol_command(protocol)))
sweep_app.command("grid")(one_line_errors(grid.grid))
app.add_typer(sweep_app, name="sweep")
app.command("tune")(one_line_errors(tune.tune))
data_app.command("info")(one_line_errors(data.info))
data_app.command("audit")(one_line_errors(data.audit))
data_app.command("synth")(one_line_errors(data.synth))
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")


def run() -> None:
    """The `iteach-app` console script: `app()`, then the process ends without the
    interpreter's teardown (fast_exit.finish); an exit with a message, an interruption or an
    uncaught error ends the normal way."""
    try:
        app()
    except SystemExit as done:
        if done.code is not None and not isinstance(done.code, int):
            raise
        finish(done.code or 0)
    finish(0)


if __name__ == "__main__":
    run()
