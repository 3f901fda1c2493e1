"""Every option's default in --help: an option whose default is None (not given) says
``[default: (none)]`` unless its help or its own default text already says what happens; an
on/off flag shows no ``<bool>`` placeholder (it takes no value: ``--quiet``, not ``--quiet true``).
"""

from __future__ import annotations

from typer._click.core import Command
from typer.core import TyperGroup, TyperOption


def show_every_default(command: Command) -> None:
    """Set ``show_default`` on every option of ``command`` and its subcommands (in place)."""
    for sub in command.commands.values() if isinstance(command, TyperGroup) else ():
        show_every_default(sub)
    for param in command.params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = " "
        if not isinstance(param, TyperOption) or param.is_flag or param.name == "help":
            continue
        given = isinstance(param.show_default, str) or "default" in (param.help or "")
        if param.default is None and not given:
            param.show_default = "none"
