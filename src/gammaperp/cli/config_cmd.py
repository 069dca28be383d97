"""``gammaperp config show|validate|reference``: inspect experiment configs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gammaperp.cli._app import app, console, err_console

__all__ = ["config_app"]

config_app = typer.Typer(
    name="config",
    help="Show, validate and document experiment configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config_app, name="config")


def _emit(text: str, lexer: str) -> None:
    """Plain text when piped (valid TOML/JSON); syntax-highlighted on a terminal."""
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text.rstrip("\n"), lexer, background_color="default"))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@config_app.command("show")
def show(
    file: Annotated[
        Path | None,
        typer.Argument(help="Config file (.toml, .yaml, .json); none: the defaults."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set hedge.band=0.1 (repeatable)."),
    ] = None,
) -> None:
    """Print the fully resolved config (every default filled in) as TOML or JSON."""
    from gammaperp.config import (
        ExperimentConfig,
        apply_overrides,
        dump_json,
        dump_toml,
        load_config,
        parse_override,
    )

    cfg = load_config(file) if file is not None else ExperimentConfig()
    if overrides:
        pairs = dict(parse_override(item) for item in overrides)
        cfg = apply_overrides(cfg, pairs, source="--set", base_dir=Path.cwd())
    if as_json:
        _emit(dump_json(cfg), "json")
    else:
        _emit(dump_toml(cfg), "toml")


@config_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Config file (.toml, .yaml, .json).")],
) -> None:
    """Print "ok" for a valid config, else every problem ("error: FILE: key: ...", exit 2)."""
    from gammaperp.config import load_config
    from gammaperp.errors import ConfigError

    try:
        load_config(file)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            if line.strip():
                err_console.print(f"error: {line}", markup=False)
        raise typer.Exit(2) from None
    console.print("ok", markup=False, highlight=False)


@config_app.command("reference")
def reference() -> None:
    """Print the field reference (markdown tables; the body of docs/config.md)."""
    from gammaperp.config import config_reference_markdown

    sys.stdout.write(config_reference_markdown())
