"""HTML tearsheet of a backtest (issue 6): one self-contained, offline ``report.html``.

>>> from gammaperp.report import build_report, export_png
>>> build_report("demo-run")                 # doctest: +SKIP  -> demo-run/report.html
>>> export_png("demo-run")                   # doctest: +SKIP  -> demo-run/charts/*.png

See ``docs/report.md`` for the charts, their units, the decimation and the PNG export.
"""

from __future__ import annotations

from gammaperp.report.build import REPORT_NAME, build_report
from gammaperp.report.data import ReportError, RunData, as_run_data, load_run_dir
from gammaperp.report.page import SECTION_TITLES
from gammaperp.report.png import PNG_CHARTS, export_png, find_chromium

__all__ = [
    "PNG_CHARTS",
    "REPORT_NAME",
    "SECTION_TITLES",
    "ReportError",
    "RunData",
    "as_run_data",
    "build_report",
    "export_png",
    "find_chromium",
    "load_run_dir",
]
