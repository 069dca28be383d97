"""Resolved configs as plain data: dicts, TOML, JSON, a fingerprint and dotted overrides."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from gammaperp.config.loader import validate_config
from gammaperp.config.models import ExperimentConfig
from gammaperp.errors import ConfigError

__all__ = [
    "apply_overrides",
    "config_fingerprint",
    "config_to_dict",
    "dump_json",
    "dump_toml",
    "parse_override",
    "to_toml",
]


def config_to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """The fully resolved config (every default filled in) as plain data.

    Tuples become lists, paths become strings, datetimes stay ``datetime`` (UTC) so that
    ``ExperimentConfig.model_validate(config_to_dict(cfg)) == cfg``. Unset optional values are
    ``None``.
    """
    return _plain(cfg.model_dump(mode="python"))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return value.as_posix()
    return value


def config_fingerprint(cfg: ExperimentConfig) -> str:
    """sha256 (hex) of the canonical JSON of the resolved config.

    Canonical: sorted keys, no whitespace, datetimes as ISO 8601 UTC. Everything counts,
    including ``name`` and ``output``; two configs that differ only in defaults left implicit
    have the same fingerprint.
    """
    text = json.dumps(
        _jsonable(config_to_dict(cfg)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dump_json(cfg: ExperimentConfig, indent: int | None = 2) -> str:
    """The resolved config as JSON (``null`` for unset values)."""
    return json.dumps(_jsonable(config_to_dict(cfg)), indent=indent, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    return value


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def dump_toml(cfg: ExperimentConfig, header: bool = True) -> str:
    """The resolved config as TOML; unset optional values appear as comments.

    ``tomllib.loads(dump_toml(cfg))`` validates back to ``cfg``.
    """
    lines: list[str] = []
    if header:
        lines += [
            "# gammaperp experiment config, fully resolved (schema v1)",
            f"# fingerprint: {config_fingerprint(cfg)}",
            "",
        ]
    return "\n".join(lines) + to_toml(config_to_dict(cfg))


# --------------------------------------------------------------------------------------------
# a small TOML writer for nested tables, arrays of tables and scalar / scalar-array values

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def to_toml(data: Mapping[str, Any]) -> str:
    """Serialise a dict of tables / arrays of tables / scalars to TOML text.

    ``None`` values (TOML has no null) are written as a comment ``# key = (unset)``.
    """
    out: list[str] = []
    _emit_table(data, [], out, header=None)
    return "\n".join(out).strip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(_is_table(v) for v in value)


def _emit_table(
    table: Mapping[str, Any], path: list[str], out: list[str], header: str | None
) -> None:
    if header is not None:
        if out:
            out.append("")
        out.append(header)
    subtables = []
    for key, value in table.items():
        if _is_table(value) or _is_table_array(value):
            subtables.append((key, value))
        elif value is None:
            out.append(f"# {_key(key)} = (unset)")
        else:
            out.append(f"{_key(key)} = {_value(value)}")
    for key, value in subtables:
        sub = [*path, key]
        name = ".".join(_key(k) for k in sub)
        if _is_table(value):
            _emit_table(value, sub, out, header=f"[{name}]")
        else:
            for item in value:
                _emit_table(item, sub, out, header=f"[[{name}]]")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Path):
        return _string(value.as_posix())
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if any(v is None for v in value):
            raise ValueError("TOML arrays cannot hold unset (None) values")
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # only reached inside an inline array
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{" + inner + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


# --------------------------------------------------------------------------------------------
# dotted overrides: "hedge.band=0.1", "venues[0].taker_fee_bps=5"

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value``; the value is read as a TOML value, else kept as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. hedge.band=0.1")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _split_key(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _TOKEN.finditer(key):
        if match.start() != pos and key[pos : match.start()] != ".":
            raise ConfigError(f"override key {key!r}: cannot parse near {key[pos:]!r}")
        parts.append(int(match.group(2)) if match.group(2) is not None else match.group(1))
        pos = match.end()
    if pos != len(key) or not parts:
        raise ConfigError(f"override key {key!r}: cannot parse")
    return parts


def apply_overrides(
    cfg: ExperimentConfig,
    overrides: Mapping[str, Any],
    source: str = "override",
    base_dir: str | Path | None = None,
) -> ExperimentConfig:
    """A new config with dotted keys replaced (``{"hedge.band": 0.1, "venues[0].leverage": 5}``),
    validated again; errors are :class:`ConfigError` naming the key. Relative paths given as
    override values are resolved against ``base_dir`` (default: left relative)."""
    data = copy.deepcopy(config_to_dict(cfg))
    for key, value in overrides.items():
        parts = _split_key(key)
        node: Any = data
        for j, part in enumerate(parts[:-1]):
            nxt = parts[j + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    raise ConfigError(f"{source}: {key}: index [{part}] out of range")
                node = node[part]
            else:
                if not isinstance(node, dict):
                    raise ConfigError(f"{source}: {key}: {part!r} is not inside a table")
                if part not in node or node[part] is None:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        last = parts[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise ConfigError(f"{source}: {key}: index [{last}] out of range")
            node[last] = value
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: {key}: {last!r} is not inside a table")
            node[last] = value
    return validate_config(data, source=source, base_dir=base_dir)
