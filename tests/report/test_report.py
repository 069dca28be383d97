"""The HTML report: self-contained, every section, size bound, rebuild parity, summary runs,
analytics plug-in and its fallbacks, decimation."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from html import unescape

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from gammaperp.api import run
from gammaperp.report import SECTION_TITLES, ReportError, build_report, load_run_dir
from gammaperp.report import charts as C
from gammaperp.report.data import from_result
from gammaperp.report.decimate import MAX_POINTS, even_indices, minmax_indices
from gammaperp.report.page import render_sections

CORE_CHARTS = {
    "equity",
    "drawdown",
    "components",
    "hedge_profit",
    "price",
    "funding",
    "margin",
    "vol",
    "monthly",
}
ANALYTICS_CHARTS = {"attribution", "gamma_pnl"}
PLOTLY_BANNER = get_plotlyjs()[:60]


def analytics_importable() -> bool:
    try:
        import gammaperp.analytics  # noqa: F401
    except ImportError:
        return False
    return True


def chart_ids(html: str) -> list[str]:
    return re.search(r'<body data-charts="([^"]*)"', html).group(1).split()


def figures(html: str) -> dict[str, str]:
    """chart div id -> the JSON arguments of its Plotly.newPlot call."""
    out = {}
    for m in re.finditer(r'Plotly\.newPlot\(\s*"(chart-[a-z_]+)",\s*(.*?)\s*\)\s*\};', html, re.S):
        out[m.group(1)] = m.group(2)
    return out


def not_available(html: str) -> list[str]:
    return re.findall(r"<strong>Not available\.</strong> ([^<]*)</div>", html)


# ---- self-contained, sections, charts --------------------------------------------------------
def test_report_is_self_contained_and_offline(full_report):
    html = full_report.read_text()
    assert full_report.name == "report.html" and full_report.parent.name == "full"
    # no external resource of any kind (markup outside the inline scripts' code)
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", html, flags=re.S | re.I)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:)?//""", markup, re.I)
    assert not re.search(r"<(script|img|iframe|embed|object|link)\b[^>]*\bsrc=", markup, re.I)
    assert not re.search(r"<link\b", markup, re.I)
    assert "@import" not in markup and "url(" not in markup
    assert markup.count("<script") == html.count("<script")
    # plotly.js embedded inline exactly once, in <head>
    assert html.count(PLOTLY_BANNER) == 1
    assert html.index(PLOTLY_BANNER) < html.index("</head>")
    # the browser is told to fetch nothing
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_every_section_title_and_chart(full_report):
    html = full_report.read_text()
    pos = [html.find(f"<h2>{t.replace('&', '&amp;')}</h2>") for t in SECTION_TITLES]
    assert all(p > 0 for p in pos), [t for t, p in zip(SECTION_TITLES, pos, strict=True) if p < 0]
    assert pos == sorted(pos)
    for title in (
        "Headline metrics",
        "Equity curve",
        "Drawdown",
        "Cumulative P&L by component",
        "Cumulative hedge-trade profit",
        "Price, hedge trades and net delta",
        "Funding",
        "Margin ratio",
        "Realized versus implied volatility",
        "Monthly returns",
        "Option P&L attribution",
        "Volatility analytics: theoretical gamma P&L",
        "Configuration",
        "Data fingerprint and market",
        "Assumptions and limits",
    ):
        assert title in SECTION_TITLES
    ids = chart_ids(html)
    expected = CORE_CHARTS | (ANALYTICS_CHARTS if analytics_importable() else set())
    assert set(ids) == expected
    assert set(figures(html)) == {f"chart-{i}" for i in ids}
    if analytics_importable():
        assert not_available(html) == []
    # documents of the run directory are shown
    cfg = json.loads((full_report.parent / "config.json").read_text())
    market = json.loads((full_report.parent / "market.json").read_text())
    assert cfg["_fingerprint"] in html and market["fingerprint"] in html
    assert 'preset = "sideways-volatile"' in unescape(html)  # the resolved config as TOML
    for line in json.loads((full_report.parent / "assumptions.json").read_text()):
        assert line in unescape(html)


def test_every_axis_has_a_unit(full_run):
    run_data = load_run_dir(full_run[1])
    for rs in render_sections(run_data):
        for part in rs.block.parts if rs.block else []:
            if not isinstance(part, str):
                layout = part.fig.layout
                for name in dir(layout):
                    if re.fullmatch(r"[xy]axis\d*", name) and getattr(layout, name).title.text:
                        text = getattr(layout, name).title.text
                        assert "(" in text and ")" in text, (part.id, name, text)


def test_rebuild_from_run_dir_gives_the_same_report(full_run, full_report, tmp_path):
    res, _ = full_run
    from_result = build_report(res, tmp_path / "from-result.html").read_text()
    from_dir = full_report.read_text()
    assert figures(from_result) == figures(from_dir)
    assert from_result == from_dir  # byte-identical: no timestamps, fixed div ids
    again = build_report(full_report.parent, tmp_path / "again.html").read_text()
    assert again == from_dir


def test_size_bound_and_decimation_for_90_days_of_minutes(tmp_path):
    d = tmp_path / "ninety"
    run({"name": "ninety", "market": {"bars": 129_600}}, out=d)
    path = build_report(d)
    size = path.stat().st_size
    assert size < 15e6, size
    html = path.read_text()
    # no trace carries more than MAX_POINTS points (float64 arrays are base64 "bdata")
    n_traces = 0
    for m in re.finditer(r'"x":\{"dtype":"f8","bdata":"([^"]*)"', html):
        raw = base64.b64decode(m.group(1).replace("\\u002f", "/"))
        assert len(raw) // 8 <= MAX_POINTS
        n_traces += 1
    assert n_traces > 20
    assert chart_ids(html)  # and it still has its charts


# ---- record="summary" and missing pieces -----------------------------------------------------
def test_summary_record_run(summary_run):
    res, d = summary_run
    assert not (d / "trades.parquet").exists()
    path = build_report(d)
    html = path.read_text()
    ids = set(chart_ids(html))
    assert {"equity", "drawdown", "components", "funding", "margin", "vol", "monthly"} <= ids
    assert not ids & {"hedge_profit", "price", "attribution", "gamma_pnl"}
    assert "Not available in this report:" in html
    reasons = not_available(html)
    assert any("record=&#x27;summary&#x27;" in r for r in reasons)
    assert "record=summary" in html
    assert build_report(res, d / "again.html").read_text() == html


def test_optional_documents_missing(full_run, tmp_path):
    d = tmp_path / "partial"
    shutil.copytree(full_run[1], d)
    (d / "assumptions.json").unlink()
    (d / "report.html").unlink(missing_ok=True)
    html = build_report(d).read_text()
    assert "Missing from the run directory: assumptions.json" in html
    assert "the run directory has no assumptions.json" in html


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("equity.parquet", "not a run directory (missing equity.parquet)"),
        ("summary.json", "not a run directory (missing summary.json)"),
        ("trades.parquet", "incomplete run directory (missing trades.parquet)"),
    ],
)
def test_not_a_run_dir(full_run, tmp_path, remove, message):
    d = tmp_path / "broken"
    shutil.copytree(full_run[1], d)
    (d / remove).unlink()
    with pytest.raises(ReportError, match=re.escape(message)):
        build_report(d)
    with pytest.raises(ReportError, match="no such run directory"):
        build_report(tmp_path / "nope")


def test_result_needs_out_path(full_run):
    with pytest.raises(ReportError, match="pass out_path"):
        build_report(full_run[0])


# ---- analytics plug-in ------------------------------------------------------------------------
def test_without_analytics_the_report_falls_back(full_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gammaperp.analytics", None)  # import fails
    html = build_report(full_run[1], tmp_path / "r.html").read_text()
    assert set(chart_ids(html)) == CORE_CHARTS
    reasons = not_available(html)
    assert len(reasons) == 2 and all("gammaperp.analytics" in r for r in reasons)
    assert "Risk-adjusted metrics" in html and "Computed by the report" in html
    assert "Realized vol computed by the report" in html


@pytest.mark.skipif(not analytics_importable(), reason="gammaperp.analytics not written yet")
def test_a_failing_analytics_function_is_a_placeholder(full_run, tmp_path, monkeypatch):
    import gammaperp.analytics as A

    def boom(result):
        raise RuntimeError("kaput")

    monkeypatch.setattr(A, "attribute_pnl", boom)
    html = build_report(full_run[1], tmp_path / "r.html").read_text()
    assert "attribution" not in chart_ids(html)
    assert any("attribute_pnl() failed: RuntimeError: kaput" in r for r in not_available(html))
    assert "Sharpe ratio" in html  # the other analytics still render


@pytest.mark.skipif(not analytics_importable(), reason="gammaperp.analytics not written yet")
def test_analytics_need_the_same_input_market(full_run, tmp_path):
    d = tmp_path / "moved"
    shutil.copytree(full_run[1], d)
    m = json.loads((d / "market.json").read_text())
    m["fingerprint"] = "0" * 64
    (d / "market.json").write_text(json.dumps(m))
    html = build_report(d).read_text()
    assert set(chart_ids(html)) == CORE_CHARTS
    assert any("fingerprint mismatch" in r for r in not_available(html))


# ---- decimation ---------------------------------------------------------------------------------
def test_minmax_decimation_keeps_extremes():
    rng = np.random.default_rng(1)
    y = rng.standard_normal(200_003).cumsum()
    idx = minmax_indices(y, 5_000)
    assert len(idx) <= 5_000 and np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] == len(y) - 1
    assert y[idx].max() == y.max() and y[idx].min() == y.min()
    # every bucket's extremes survive: a spike anywhere is kept
    y[123_457] = 1e6
    assert 123_457 in minmax_indices(y, 5_000)
    # short series are untouched
    assert np.array_equal(minmax_indices(y[:4_000], 5_000), np.arange(4_000))


def test_decimation_keeps_gaps():
    y = np.arange(100_000, dtype=float)
    y[50_000:50_010] = np.nan
    idx = minmax_indices(y, 1_000)
    assert np.isnan(y[idx]).any()
    assert len(even_indices(10, 5)) == 5 and len(even_indices(3, 5)) == 3


def test_line_traces_are_decimated(full_run):
    run_data = load_run_dir(full_run[1])
    fig = C.components_chart(run_data)
    assert all(len(t.x) <= MAX_POINTS for t in fig.data)
    assert len(run_data.equity) > MAX_POINTS


# ---- risk-overlay events ---------------------------------------------------------------------
RISK_CFG = {
    "name": "report-risk",
    "market": {"bars": 20_000},
    "seed": 3,
    "risk": {"trend_fast_bars": 30, "trend_slow_bars": 600, "trend_threshold": 0.002},
}


def test_risk_events_in_run_data_and_report(tmp_path):
    d = tmp_path / "risk"
    res = run(RISK_CFG, out=d)
    ev = res.events
    assert len(ev) >= 2 and set(ev["event"]) <= {"trend_on", "trend_off"}
    assert (d / "events.parquet").is_file()
    loaded = load_run_dir(d).events
    pd.testing.assert_frame_equal(loaded, ev, check_freq=False)
    pd.testing.assert_frame_equal(from_result(res).events, ev)
    html = build_report(d).read_text()
    assert "Risk-overlay events" in html
    first = ev.iloc[0]
    assert f"<td>{first['event']}</td>" in html
    assert html == build_report(res, tmp_path / "from-result.html").read_text()


def test_run_dir_without_event_log_still_loads(full_run, tmp_path):
    """Run directories written before the event log existed have no events.parquet."""
    d = tmp_path / "old"
    shutil.copytree(full_run[1], d)
    (d / "events.parquet").unlink()
    data = load_run_dir(d)
    assert data.events is None
    assert "Risk-overlay events" in build_report(d).read_text()  # shown as "None."
