"""``build_report``: a run directory or ``Result`` -> one self-contained ``report.html``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from gammaperp.report.data import ReportError, RunData, as_run_data
from gammaperp.report.page import build_html, render_sections

REPORT_NAME = "report.html"


def build_report(
    source: str | os.PathLike[str] | Any, out_path: str | os.PathLike[str] | None = None
) -> Path:
    """Write the HTML report of a run; returns its path.

    ``source`` is a run directory (as written by ``Result.save`` / ``gammaperp run --out``), a
    ``Result`` or a :class:`RunData`. ``out_path`` defaults to ``report.html`` inside the run
    directory; it is required for a ``Result`` that has no run directory. The file is written
    atomically (temporary file + rename).
    """
    run = as_run_data(source)
    return write_report(run, out_path)


def write_report(run: RunData, out_path: str | os.PathLike[str] | None = None) -> Path:
    if out_path is None:
        if run.run_dir is None:
            raise ReportError("build_report(result): pass out_path (a Result has no run directory)")
        out_path = run.run_dir / REPORT_NAME
    out = Path(out_path)
    if out.is_dir():
        out = out / REPORT_NAME
    text = build_html(run, render_sections(run))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
