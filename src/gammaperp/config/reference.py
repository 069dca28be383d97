"""The config reference (``docs/config.md``) generated from the models themselves."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, Discriminator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gammaperp.config.dump import _iso, _value
from gammaperp.config.models import ExperimentConfig, KindDispatch

__all__ = [
    "GENERATED_BEGIN",
    "GENERATED_END",
    "config_reference_markdown",
    "iter_fields",
    "update_reference_block",
]

GENERATED_BEGIN = "<!-- BEGIN GENERATED: config_reference_markdown() -->"
GENERATED_END = "<!-- END GENERATED -->"


def iter_fields() -> list[tuple[str, str, type[BaseModel], str, FieldInfo]]:
    """Every leaf field as ``(section title, TOML header, model, key, field info)``."""
    rows: list[tuple[str, str, type[BaseModel], str, FieldInfo]] = []
    top = ExperimentConfig
    for key, info in top.model_fields.items():
        if _submodel(info) is None and _dispatch(info) is None:
            rows.append(("Top level", "", top, key, info))
    for key, info in top.model_fields.items():
        dispatch = _dispatch(info)
        if dispatch is not None:
            for tag, model in dispatch.variants.items():
                title = f'`[{key}]` with {dispatch.key} = "{tag}" ({model.__name__})'
                for sub, sub_info in model.model_fields.items():
                    rows.append((title, f"[{key}]", model, sub, sub_info))
            continue
        sub_model = _submodel(info)
        if sub_model is None:
            continue
        array = typing.get_origin(info.annotation) is tuple
        header = f"[[{key}]]" if array else f"[{key}]"
        title = f"`{header}` ({sub_model.__name__})"
        for sub, sub_info in sub_model.model_fields.items():
            rows.append((title, header, sub_model, sub, sub_info))
    return rows


def _dispatch(info: FieldInfo) -> KindDispatch | None:
    for meta in info.metadata:
        if isinstance(meta, Discriminator) and isinstance(meta.discriminator, KindDispatch):
            return meta.discriminator
    return None


def _submodel(info: FieldInfo) -> type[BaseModel] | None:
    ann = info.annotation
    if typing.get_origin(ann) is tuple:
        ann = typing.get_args(ann)[0]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    return None


def type_name(annotation: Any) -> str:
    """Human type of a field annotation: ``float``, ``float or unset``, ``"a" / "b"``."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " / ".join(f'"{v}"' for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = " or ".join(type_name(a) for a in args)
        return f"{inner} or unset" if len(args) < len(typing.get_args(annotation)) else inner
    if annotation is Path:
        return "path"
    if annotation is datetime:
        return "datetime"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def constraint_text(info: FieldInfo) -> str:
    """Range constraints of a field, e.g. ``>= 0, <= 100``."""
    parts = []
    for meta in info.metadata:
        if isinstance(meta, at.Ge):
            parts.append(f">= {meta.ge:g}")
        elif isinstance(meta, at.Gt):
            parts.append(f"> {meta.gt:g}")
        elif isinstance(meta, at.Le):
            parts.append(f"<= {meta.le:g}")
        elif isinstance(meta, at.Lt):
            parts.append(f"< {meta.lt:g}")
        elif isinstance(meta, at.MinLen):
            parts.append(f"length >= {meta.min_length}")
    return ", ".join(parts)


def default_text(info: FieldInfo) -> str:
    """The default as it would be written in TOML (``unset`` for ``None``)."""
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "table of defaults"
    if isinstance(value, tuple) and not value:
        return "none"
    if isinstance(value, tuple) and all(isinstance(v, BaseModel) for v in value):
        names = ", ".join(f'"{getattr(v, "name", "?")}"' for v in value)
        return f"{len(value)} table(s): {names}"
    if isinstance(value, datetime):
        return _iso(value)
    return _value(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def config_reference_markdown() -> str:
    """Markdown tables of every config field: key, type, default, unit, allowed range, meaning.

    ``docs/config.md`` holds this text between :data:`GENERATED_BEGIN` and
    :data:`GENERATED_END`; a test keeps the two in sync.
    """
    out: list[str] = []
    current = None
    for title, _header, _model, key, info in iter_fields():
        if title != current:
            if current is not None:
                out.append("")
            out += [
                f"### {title}",
                "",
                "| key | type | default | unit | allowed | meaning |",
                "|---|---|---|---|---|---|",
            ]
            current = title
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        row = [
            f"`{key}`",
            type_name(info.annotation),
            f"`{default_text(info)}`",
            str(extra.get("unit", "")),
            constraint_text(info),
            str(extra.get("doc", "")),
        ]
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def update_reference_block(text: str) -> str:
    """Replace the generated block of a markdown document with the current reference."""
    start = text.index(GENERATED_BEGIN) + len(GENERATED_BEGIN)
    end = text.index(GENERATED_END)
    return text[:start] + "\n" + config_reference_markdown() + text[end:]
