"""Config files: TOML read with tomllib / tomli, written with tomli-w; defaults < file < flags."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from iteach_app.config.errors import ConfigError
from iteach_app.config.schema import FIELD_NAMES, LEGACY_SETTINGS, TrainConfig
from iteach_app.config.validate import validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib


MAX_CONFIG_BYTES = 1 << 20  # a config is a few hundred bytes; this leaves room for comments


def read_config_bytes(path: Path, kind: str = "config") -> bytes:
    """The bytes of a regular file of at most `MAX_CONFIG_BYTES`: a device (/dev/zero) would be
    read until memory runs out and a FIFO would block, so both are refused before opening.
    ``kind`` names the file in the errors ("config", "sweep")."""
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path}: is a folder, not a {kind} TOML file")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: {info.st_size} bytes, more than the {MAX_CONFIG_BYTES} a {kind} file may hold"
        )
    with open(path, "rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: grew past {MAX_CONFIG_BYTES} bytes while being read")
    return data


def read_toml(path: Path, kind: str = "config") -> dict[str, Any]:
    """The table of the TOML file at ``path`` (`read_config_bytes`); a missing, unreadable,
    non-UTF-8 or invalid file is one ConfigError naming it as a ``kind`` file."""
    try:
        return tomllib.loads(read_config_bytes(path, kind).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {kind} file not found") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a config TOML into TrainConfig fields; an unknown key is an error naming it."""
    path = Path(path)
    raw = read_toml(path)
    unknown = sorted(set(raw) - set(FIELD_NAMES) - set(LEGACY_SETTINGS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(FIELD_NAMES)}"
        )
    return raw


def resolve(
    file_values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    source: str = "config",
) -> TrainConfig:
    """Defaults <- file values <- overrides (None = not given); the result is validated.

    Old setting names (`LEGACY_SETTINGS`, e.g. fusion_gates) are read as their new ones. A
    file's teacher / student settings that its preset filled in (``resolved_by_preset``) are
    kept, so a later preset change does not re-interpret the run, unless an override changes
    the framework or model (then they are resolved again) or gives that setting itself."""
    file_layer = upgrade_legacy(file_values or {}, source)
    flag_layer = {k: v for k, v in upgrade_legacy(overrides or {}, source).items() if v is not None}
    file_layer = _keep_resolution(file_layer, flag_layer)
    values: dict[str, Any] = {}
    for layer in (file_layer, flag_layer):
        for key, value in layer.items():
            if key not in FIELD_NAMES:
                raise ConfigError(f"{source}: unknown setting {key!r}")
            if value is not None:
                values[key] = value
    try:
        return validate(TrainConfig(**values))
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def upgrade_legacy(values: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """``values`` with each old setting name replaced by its new name and value; giving both
    spellings is an error naming them."""
    out = dict(values)
    for old, (new, spelling) in LEGACY_SETTINGS.items():
        if old not in out:
            continue
        value = out.pop(old)
        if value is None:
            continue
        if out.get(new) is not None:
            raise ConfigError(f"{source}: give {new} or its old name {old}, not both")
        if value not in spelling:
            raise ConfigError(
                f"{source}: {old} (now {new}) must be one of {', '.join(spelling)}; got {value!r}"
            )
        out[new] = spelling[value]
    return out


def _keep_resolution(file_layer: dict[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """The file's values, minus its preset-filled roles where the flags make them stale."""
    filled = list(file_layer.get("resolved_by_preset") or [])
    if not filled:
        return file_layer
    changed = any(
        key in flags and flags[key] != file_layer.get(key, default)
        for key, default in (("framework", "its"), ("model", "iteach"))
    )
    stale = filled if changed else [name for name in filled if name in flags]
    out = {k: v for k, v in file_layer.items() if k not in stale or k in flags}
    out["resolved_by_preset"] = [name for name in filled if name not in stale]
    return out


def to_toml(config: TrainConfig) -> str:
    """TOML text of the config, headed by its hash; unset (None) and empty values are left out."""
    values = {k: v for k, v in config.to_dict().items() if v is not None and v != {}}
    header = f"# iteach-app resolved config (hash {config.config_hash()})\n"
    return header + tomli_w.dumps(values)


def parse_pairs(text: str, option: str = "--features") -> dict[str, str]:
    """``"text=minilm-384-UTT,audio=covarep73-UTT"`` -> {"text": ..., "audio": ...}."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{option}: {item!r} is not NAME=VALUE (e.g. text=minilm-384-UTT)")
        if name.strip() in out:
            raise ConfigError(f"{option}: {name.strip()!r} given twice")
        out[name.strip()] = value.strip()
    if not out:
        raise ConfigError(f"{option}: no NAME=VALUE pair given")
    return out
