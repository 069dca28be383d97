"""The typer application object and the shared rich consoles."""

from __future__ import annotations

import typer
from rich.console import Console

from gammaperp._version import __version__

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="gammaperp",
    help="Backtest, stress and paper-trade delta hedging and gamma scalping with perpetuals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"gammaperp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """gammaperp command line."""
