"""Every option's default in --help: an option whose default is None (not given) says
``[default: (none)]`` unless its help or its own default text already says what happens; an
on/off flag (``--help`` too) shows no ``<bool>`` placeholder (it takes no value: ``--quiet``, not
``--quiet true``); an argument is named in capitals (``RUN``, ``RUNS...``), not ``{run}``; a
repeatable value shows its element's type (``<path>``), not ``<list[Path]>``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from typer._click.core import Command
from typer.core import TyperArgument, TyperGroup, TyperOption

_LIST = re.compile(r"<list\[(.+)\]>")


def _element_type(display: Any, ctx: Any) -> str | None:
    """``<list[Path]>`` -> ``<path>``: a repeated option or argument names one value's type."""
    shown = display(ctx)
    return _LIST.sub(lambda m: f"<{m.group(1).lower()}>", shown) if shown else shown


def _name_argument(param: TyperArgument) -> None:
    name = (param.metavar or param.name or "").upper() + ("..." if param.nargs != 1 else "")
    param.metavar = name
    usage = name if param.required else f"[{name}]"
    param._usage_display_name = lambda: usage  # the usage line's own spelling ({run})


def _help_without_placeholder(get_help_option: Any, ctx: Any) -> Any:
    option = get_help_option(ctx)
    if option is not None:
        option.metavar = " "
    return option


def show_every_default(command: Command) -> None:
    """Set ``show_default`` on every option of ``command`` and its subcommands (in place)."""
    for sub in command.commands.values() if isinstance(command, TyperGroup) else ():
        show_every_default(sub)
    if not isinstance(command.get_help_option, functools.partial):
        command.get_help_option = functools.partial(
            _help_without_placeholder, command.get_help_option
        )
    for param in command.params:
        if isinstance(param, (TyperOption, TyperArgument)) and not isinstance(
            param.display_type_rich, functools.partial
        ):
            param.display_type_rich = functools.partial(_element_type, param.display_type_rich)
        if isinstance(param, TyperArgument) and not (param.metavar or "").isupper():
            _name_argument(param)
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = " "
        if not isinstance(param, TyperOption) or param.is_flag or param.name == "help":
            continue
        given = isinstance(param.show_default, str) or "default" in (param.help or "")
        if param.default is None and not given:
            param.show_default = "none"
