"""Command-line interface (typer + rich).

``main()`` is the console-script entry point. Every error raised on purpose
(:class:`gammaperp.errors.GammaperpError`, ``ValueError``) is printed as one line on stderr
and the process exits with code 2, never with a traceback.
"""

from __future__ import annotations

import sys

import typer

from gammaperp._version import __version__
from gammaperp.cli._app import app, err_console

__all__ = ["app", "main"]


def _register() -> None:
    # Each command group lives in its own module; importing it registers its commands.
    from gammaperp.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit code 0 on success, 2 on any user error."""
    _register()
    try:
        rc = app(args=argv, standalone_mode=False)
    except SystemExit:  # raised by typer/click for --help and friends
        raise
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("aborted", markup=False)
        sys.exit(130)
    except Exception as exc:  # the CLI's one error boundary
        # typer >= 0.20 vendors click (``typer._click``), so match click's exceptions by
        # duck typing rather than by ``isinstance(exc, click.ClickException)``.
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help text was already printed
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            _print_error(exc.format_message())
            sys.exit(exc.exit_code or 2)
        if isinstance(exc, ValueError | OSError | KeyError):
            _print_error(str(exc), default=type(exc).__name__)
            sys.exit(2)
        raise
    # In non-standalone mode click returns the code of ``typer.Exit(code)`` instead of
    # raising it; turn it back into the process exit status.
    if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
        sys.exit(rc)


def _print_error(message: str, default: str = "error") -> None:
    """Print one ``error: ...`` line on stderr (no rich markup: messages hold ``[0]``)."""
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    first = lines[0] if lines else default
    if len(lines) > 1:
        first += f" (+{len(lines) - 1} more)"
    err_console.print(f"error: {first}", markup=False)


def version_string() -> str:
    return f"gammaperp {__version__}"
