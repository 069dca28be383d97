"""``gammaperp report RUN_DIR``: (re)build the HTML report of a run directory, and PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gammaperp.cli._app import app, console, err_console


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by run/demo.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write (default: RUN_DIR/report.html)."),
    ] = None,
    png: Annotated[
        bool,
        typer.Option("--png", help="Also write the key charts as PNG (charts/ beside the report)."),
    ] = False,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the report in the default web browser.")
    ] = False,
) -> None:
    """Build a self-contained, offline HTML report of a run directory."""
    from gammaperp.report import build_report, export_png, load_run_dir
    from gammaperp.report.build import REPORT_NAME
    from gammaperp.report.png import require_chromium

    run = load_run_dir(run_dir)
    if png:
        require_chromium()  # fail before writing anything when PNGs cannot be made
    target = out if out is not None else run_dir / REPORT_NAME
    path = build_report(run, target)
    console.print(f"report: {path}", markup=False, highlight=False, soft_wrap=True)
    if png:
        charts = export_png(run, path.parent / "charts")
        for cid, res in charts.items():
            if isinstance(res, Path):
                console.print(f"chart: {res}", markup=False, highlight=False, soft_wrap=True)
            else:
                err_console.print(f"chart {cid}: not available ({res})", markup=False)
    if open_:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            err_console.print(f"could not open a browser; open {path} yourself", markup=False)
