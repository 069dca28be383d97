"""Helpers shared by the CLI tests (importable: pyproject sets pytest's pythonpath to tests)."""

from __future__ import annotations

from gammaperp.cli import main


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``main(args)``; return (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err
