"""Run directories shared by the report tests (built once per test process)."""

from __future__ import annotations

import pytest

from gammaperp.api import run

BARS = 20_000
FULL_CFG = {"name": "report-full", "market": {"bars": BARS}, "seed": 3}
SUMMARY_CFG = {
    "name": "report-summary",
    "market": {"bars": BARS},
    "seed": 3,
    "output": {"record": "summary"},
}


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """(Result, run directory) of a 20,000-bar full-record run."""
    d = tmp_path_factory.mktemp("report") / "full"
    return run(FULL_CFG, out=d), d


@pytest.fixture(scope="session")
def summary_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("report") / "summary"
    return run(SUMMARY_CFG, out=d), d


@pytest.fixture(scope="session")
def full_report(full_run, tmp_path_factory):
    """report.html of the full run, built from its run directory."""
    from gammaperp.report import build_report

    return build_report(full_run[1])
