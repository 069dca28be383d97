"""Read experiment configs from TOML / YAML / JSON and turn validation errors into messages that
name the file and the dotted key (``examples/x.toml: venues[0].taker_fee_bps: ...``)."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Discriminator, ValidationError

from gammaperp.config.models import ExperimentConfig, KindDispatch
from gammaperp.errors import ConfigError

__all__ = ["format_validation_error", "load_config", "read_config_file", "validate_config"]

SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment config file (``.toml``, ``.yaml``/``.yml``, ``.json``).

    Relative paths inside the file are resolved against the file's directory. Raises
    :class:`~gammaperp.errors.ConfigError` with one ``FILE: key.path: problem`` line per problem.
    """
    path = Path(path)
    data = read_config_file(path)
    return validate_config(data, source=str(path), base_dir=path.resolve().parent)


def validate_config(
    data: Mapping[str, Any], source: str = "<config>", base_dir: str | Path | None = None
) -> ExperimentConfig:
    """Validate a plain dict like :func:`load_config` does, raising :class:`ConfigError`.

    ``base_dir`` (optional) is the directory relative paths are resolved against.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: the top level must be a table of keys, not {type(data).__name__}"
        )
    context = {"base_dir": Path(base_dir)} if base_dir is not None else None
    try:
        return ExperimentConfig.model_validate(dict(data), context=context)
    except ValidationError as exc:
        problems = format_validation_error(exc, source)
        err = ConfigError("\n".join(problems))
        err.problems = problems  # type: ignore[attr-defined]
        raise err from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a config file into a plain dict (no validation); errors name the file."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"{path}: unknown config format {path.suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if kind == "toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    elif kind == "yaml":
        try:
            data = yaml.load(text, Loader=_YamlLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {_yaml_message(exc)}") from None
        if data is None:
            data = {}
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a table of keys, not {type(data).__name__}"
        )
    return data


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``) and does not turn
    keys such as ``on``/``off``/``yes``/``no`` into booleans."""


_YAML_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_YAML_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _rebuild_resolvers() -> None:
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in entries if tag not in ("tag:yaml.org,2002:float",)]
        kept = [(t, r) for t, r in kept if t != "tag:yaml.org,2002:bool"]
        if kept:
            resolvers[first] = kept
    _YamlLoader.yaml_implicit_resolvers = resolvers
    _YamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789."))
    _YamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML_BOOL, list("tTfF"))


_rebuild_resolvers()


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


# --------------------------------------------------------------------------------------------
# error formatting


def format_validation_error(exc: ValidationError, source: str) -> list[str]:
    """One ``source: dotted.key: message`` line per problem, in the order pydantic found them."""
    errors = exc.errors(include_url=False)
    failing_locs = [tuple(e["loc"]) for e in errors]
    lines: list[str] = []
    for err in errors:
        loc = tuple(err["loc"])
        kind = err["type"]
        # A list whose items failed is also reported as too short: drop that echo.
        if kind == "too_short" and any(
            len(o) > len(loc) and o[: len(loc)] == loc for o in failing_locs
        ):
            continue
        keys, parent, dispatch = _walk(loc)
        if kind == "combination":
            for line in str(err["ctx"]["detail"]).splitlines():
                rel, _, msg = line.partition(": ")
                lines.append(f"{source}: {_join(keys, rel)}: {msg}")
            continue
        if kind in ("union_tag_invalid", "union_tag_not_found") and dispatch is not None:
            tag = err.get("ctx", {}).get("tag")
            valid = ", ".join(dispatch.variants)
            if kind == "union_tag_invalid":
                msg = f"unknown {dispatch.key} {tag!r}; valid: {valid}"
            else:
                msg = f"should be a table with a {dispatch.key!r} key (one of: {valid})"
            key = _join(keys, dispatch.key) if kind == "union_tag_invalid" else _join(keys, "")
            lines.append(f"{source}: {key}: {msg}")
            continue
        if kind == "extra_forbidden":
            name = str(loc[-1]) if loc else ""
            valid = list(parent.model_fields) if parent is not None else []
            msg = "unknown key"
            close = difflib.get_close_matches(name, valid, n=1)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
            if valid:
                msg += f"; valid keys here: {', '.join(valid)}"
            lines.append(f"{source}: {_join(keys, '')}: {msg}")
            continue
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif kind == "tuple_type":
            msg = "Input should be a list (in TOML an array of tables: [[key]])"
        got = err.get("input")
        if kind not in ("value_error", "missing") and _is_scalar(got):
            msg += f" (got {_short(got)})"
        lines.append(f"{source}: {_join(keys, '') or '(top level)'}: {msg}")
    return lines


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(keys: Sequence[str | int], rel: str) -> str:
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    if rel:
        out += rel if rel.startswith("[") or not out else f".{rel}"
    return out


def _walk(
    loc: tuple[Any, ...],
) -> tuple[list[str | int], type[BaseModel] | None, KindDispatch | None]:
    """Map a pydantic ``loc`` to user-facing keys (dropping union tags).

    Returns the keys, the model class that owns the last key (for listing valid keys), and the
    discriminator of the last key when it is a tagged union (for listing valid kinds).
    """
    keys: list[str | int] = []
    current: Any = ExperimentConfig
    parent: type[BaseModel] | None = None
    dispatch: KindDispatch | None = None
    i = 0
    while i < len(loc):
        item = loc[i]
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent = current
            keys.append(item)
            field = current.model_fields.get(str(item))
            dispatch = None
            if field is None:
                current = None
            else:
                current = field.annotation
                for meta in field.metadata:
                    if isinstance(meta, Discriminator) and isinstance(
                        meta.discriminator, KindDispatch
                    ):
                        dispatch = meta.discriminator
            if dispatch is not None and i + 1 < len(loc):
                tag = loc[i + 1]
                if tag in dispatch.variants:
                    current = dispatch.variants[tag]
                    i += 1
        elif isinstance(item, int):
            keys.append(item)
            args = [a for a in typing.get_args(current) if a is not Ellipsis]
            current = args[0] if args else None
        else:
            keys.append(item)
            current = None
        i += 1
    return keys, parent, dispatch
