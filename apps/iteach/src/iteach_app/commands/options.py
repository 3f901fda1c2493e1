"""Typer options generated from TrainConfig: one ``--field-name`` per field (its type, help,
choices, group and short flag from the schema). Every option defaults to None = not given, so
defaults < --config file < flag holds in `resolve`."""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer

from iteach_app.config.errors import ConfigError
from iteach_app.config.presets import PRESETS
from iteach_app.config.schema import FIELDS, LEGACY_SETTINGS, LEGACY_VALUES, TrainConfig
from iteach_app.config.toml_io import parse_pairs, tomllib

_HINTS = typing.get_type_hints(TrainConfig)


def config_options(*, exclude: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorator: add one option per config field to a command; the command receives them as
    ``overrides`` {field: value or None}. ``exclude`` and fields with ``cli=False`` are left out."""
    names = [n for n, f in FIELDS.items() if f.metadata.get("cli", True) and n not in exclude]

    def decorate(func: Callable) -> Callable:
        hints = typing.get_type_hints(func, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(func).parameters.values()
            if p.name != "overrides"
        ]
        generated = [
            inspect.Parameter(
                n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_option(n)
            )
            for n in names
        ]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            overrides = {n: _value(n, kwargs.pop(n)) for n in names}
            return func(**kwargs, overrides=overrides)

        params = sorted(own, key=lambda p: p.kind) + generated
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def _option(name: str) -> Any:
    """``Annotated[cli type | None, typer.Option(...)]`` for one field."""
    meta, default = FIELDS[name].metadata, _default(name)
    dashed = name.replace("_", "-")
    long = f"--{dashed}/--no-{dashed}" if _cli_type(name) is bool else f"--{dashed}"  # both ways
    flags = [long, *([meta["flag"]] if "flag" in meta else [])]
    option = typer.Option(
        *flags,
        help=meta["help"],
        rich_help_panel=f"{meta['group']} settings",
        show_default=_shown_default(name, default),
    )
    return Annotated[_cli_type(name) | None, option]


def _shown_default(name: str, default: Any) -> str | bool:
    """The default as --help shows it; a recipe setting names both presets' values."""
    if name in PRESETS["default"]:
        return f"preset default {PRESETS['default'][name]}, paper {PRESETS['paper'][name]}"
    return str(default) if default not in (None, [], {}) else False


def _default(name: str) -> Any:
    f = FIELDS[name]
    if f.default_factory is not inspect.Parameter.empty and callable(f.default_factory):
        value = f.default_factory()
        return ",".join(map(str, value)) if isinstance(value, list) else value
    return f.default


def _inner(name: str) -> Any:
    hint = _HINTS[name]
    if get_origin(hint) in (Union, types.UnionType):
        (hint,) = [a for a in get_args(hint) if a is not type(None)]
    return hint


@functools.cache
def _cli_type(name: str) -> Any:
    """int / float / str / bool, an Enum for a Literal or a field's ``choices`` (shown in
    --help), str for lists, dicts."""
    hint = _inner(name)
    if "choices" in FIELDS[name].metadata or get_origin(hint) is Literal:
        choices = FIELDS[name].metadata.get("choices", lambda: get_args(hint))()
        return enum.Enum(name.title().replace("_", ""), {c: c for c in choices}, type=str)
    return hint if hint in (int, float, str, bool) else str


def _value(name: str, value: Any) -> Any:
    """The CLI value as the field's type: enum -> str, "a=1,b=2" -> dict, "0.5,0.1" -> list."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    hint = _inner(name)
    if get_origin(hint) is dict:
        pairs = parse_pairs(value, f"--{name.replace('_', '-')}")
        if get_args(hint)[1] is int:
            return {k: _number(name, v, int) for k, v in pairs.items()}
        if get_args(hint)[1] is Any:
            return {k: _literal(v) for k, v in pairs.items()}
        return pairs
    if get_origin(hint) is list and get_args(hint)[0] is str:
        return [v.strip() for v in value.split(",") if v.strip()]
    if get_origin(hint) is list:
        return [_number(name, v, float) for v in value.split(",") if v.strip()]
    return value


def _number(name: str, text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"--{name.replace('_', '-')}: {text!r} is not {kind.__name__}") from None


def _literal(text: str) -> Any:
    """A TOML value written on the command line (``0.4``, ``true``, ``[64, 32]``); any other
    text is a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _legacy_flags() -> dict[str, dict[str, str]]:
    """Old ``--flag VALUE`` spellings -> the new flag: ``--fusion-gates tanh`` ->
    ``--gated-fusion``, ``--input-norm none`` -> ``--no-input-norm``."""
    table: dict[str, dict[str, str]] = {}
    pairs = [(old, new, v, b) for old, (new, m) in LEGACY_SETTINGS.items() for v, b in m.items()]
    pairs += [(name, name, v, b) for (name, v), b in LEGACY_VALUES.items()]
    for old, new, value, on in pairs:
        new_flag = new.replace("_", "-")
        table.setdefault(f"--{old.replace('_', '-')}", {})[value] = (
            f"--{new_flag}" if on else f"--no-{new_flag}"
        )
    return table


def upgrade_legacy_flags(args: list[str]) -> list[str]:
    """The command line with old spellings of renamed settings replaced by the new flags, so a
    script written for an older version keeps working."""
    table, out, i = _legacy_flags(), [], 0
    while i < len(args):
        flag, sep, value = args[i].partition("=")
        if flag in table and sep and value in table[flag]:
            out.append(table[flag][value])
        elif flag in table and not sep and i + 1 < len(args) and args[i + 1] in table[flag]:
            out.append(table[flag][args[i + 1]])
            i += 1
        else:
            out.append(args[i])
        i += 1
    return out
