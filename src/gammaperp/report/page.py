"""The report page: its sections, their tables, and the self-contained HTML document.

The page is one file: plotly.js is embedded inline once (in ``<head>``), every chart is a
``<div>`` plus an inline ``Plotly.newPlot`` call with its data, and a Content-Security-Policy
``default-src 'none'`` forbids the browser from fetching anything (no CDN, no fonts, no
network requests). Chart ``div`` ids are fixed (``chart-<id>``), so the same run gives the same
bytes.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from gammaperp._version import __version__
from gammaperp.report import charts as C
from gammaperp.report._analytics import Analytics
from gammaperp.report.charts import Unavailable
from gammaperp.report.data import RunData
from gammaperp.report.decimate import MAX_MARKERS, MAX_POINTS

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

# Limits of the model that a reader must know (docs/engine.md, "Limits (read these)").
LIMITS = (
    "No order book, no queue position, no partial fills; all sizes fill at once.",
    "Options trade at model value: no option bid/ask, no option liquidity limit.",
    "Implied vol for pricing comes from an index (DVOL) or a constant; there is no full surface.",
    "Intrabar paths are unknown: a liquidation inside a bar is detected from high/low, but the "
    "option value at that intrabar price is not recomputed.",
    "Latency is quantised to bars.",
    "Historical funding rates are used as given (no reconstruction from premium indices).",
)


@dataclass
class Chart:
    id: str
    fig: go.Figure


@dataclass
class Block:
    """What a section renders: HTML fragments and charts, in order."""

    parts: list[str | Chart] = field(default_factory=list)
    note: str | None = None  # shown under the title (e.g. where the data came from)

    def add(self, part: str | Chart) -> Block:
        self.parts.append(part)
        return self


@dataclass
class Section:
    id: str
    title: str
    caption: str
    render: Callable[[RunData, Analytics], Block]


# ---- formatting ----------------------------------------------------------------------------
def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(value: Any, kind: str = "auto") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer) and kind in ("auto", "count"):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating | int | np.integer):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if kind == "frac":
            v, kind = v * 100.0, "pct"
        if abs(v) < 5e-3 and kind in ("usd", "pct"):
            v = 0.0  # no "-0.00"
        if kind == "usd":
            return f"{v:,.2f}"
        if kind == "pct":
            return f"{v:,.2f} %"
        if kind == "count":
            return f"{v:,.0f}"
        if kind == "ratio":
            return f"{v:,.3f}"
        if kind == "days":
            return f"{v:,.1f}"
        if kind == "small":
            return f"{v:.3g}"
        return f"{v:,.6g}"
    return str(value)


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...], cls: str = "") -> str:
    """An HTML table; cells are escaped; numeric-looking columns are right-aligned by CSS."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def unavailable(reason: str) -> str:
    return f'<div class="na"><strong>Not available.</strong> {esc(reason)}</div>'


# ---- headline metrics ----------------------------------------------------------------------
# analytics key -> (label, unit, format); "frac" values are fractions shown as %.
METRICS: dict[str, tuple[str, str, str]] = {
    "total_pnl": ("total P&L", "USD", "usd"),
    "annualized_return": ("annualized return (on capital at risk)", "%", "frac"),
    "volatility": ("volatility of daily returns", "annualized %", "frac"),
    "sharpe": ("Sharpe ratio", "annualized, rf = 0", "ratio"),
    "sortino": ("Sortino ratio", "annualized", "ratio"),
    "calmar": ("Calmar ratio", "annual P&L / max drawdown", "ratio"),
    "max_drawdown": ("max drawdown (fall from peak)", "USD", "usd"),
    "max_drawdown_pct": ("max drawdown (fall from peak)", "% of peak", "frac"),
    "max_drawdown_duration_days": ("max drawdown duration", "days", "days"),
    "capital_at_risk": ("capital at risk (peak exposure)", "USD", "usd"),
    "fees": ("fees", "USD", "usd"),
    "hedge_fees": ("  of which hedge fees", "USD", "usd"),
    "slippage": ("slippage", "USD", "usd"),
    "funding": ("funding (received +)", "USD", "usd"),
    "funding_received": ("  funding received", "USD", "usd"),
    "funding_paid": ("  funding paid", "USD", "usd"),
    "n_hedges": ("hedge trades", "count", "count"),
    "win_rate": ("winning hedge round trips (FIFO, after costs)", "% of round trips", "frac"),
    "n_round_trips": ("hedge round trips (closed)", "count", "count"),
    "avg_pnl_per_hedge": ("average P&L per hedge", "USD", "usd"),
    "turnover": ("traded notional", "USD", "usd"),
    "turnover_multiple": ("turnover", "× capital at risk", "ratio"),
    "liquidations": ("liquidations", "count", "count"),
    "time_in_market": ("time in market", "% of steps", "frac"),
    "profitable_months": ("profitable months", "count", "count"),
    "months": ("months", "count", "count"),
}
# compute_metrics keys shown elsewhere (run facts, monthly section) or not scalar
METRICS_SHOWN_ELSEWHERE = {
    "record", "equity_start", "equity_end", "option_pnl", "perp_pnl", "fx_pnl", "option_fees",
    "n_trades", "capital_at_risk_basis", "days", "years", "max_drawdown_peak",
    "max_drawdown_trough", "max_drawdown_recovered", "monthly", "monthly_summary", "notes",
}  # fmt: skip
ANALYTICS_ONLY = ("Sharpe", "Sortino", "Calmar", "win rate", "time in market", "capital at risk")


def _run_facts(run: RunData) -> list[tuple[str, str, str]]:
    s = run.summary
    rows = [
        ("equity start", _fmt(s.get("equity_start"), "usd"), "USD"),
        ("equity end", _fmt(s.get("equity_end"), "usd"), "USD"),
        ("option P&L", _fmt(s.get("option_pnl"), "usd"), "USD"),
        ("perp / hedge trading P&L", _fmt(s.get("perp_pnl"), "usd"), "USD"),
        ("option fees (in fees)", _fmt(s.get("option_fees"), "usd"), "USD"),
        ("fx (coin revaluation)", _fmt(s.get("fx_pnl"), "usd"), "USD"),
        ("option rolls", _fmt(s.get("n_option_rolls"), "count"), "count"),
        ("rejected orders", _fmt(s.get("rejected_orders"), "count"), "count"),
        ("max margin ratio", _fmt((s.get("max_margin_ratio") or 0) * 100, "small"), "% maint/eq"),
        ("accounting residual (max)", _fmt(s.get("max_abs_residual"), "small"), "USD"),
        ("bars run", f"{_fmt(s.get('bars_run'), 'count')} of {_fmt(s.get('bars'), 'count')}", ""),
        ("record", run.record, ""),
    ]
    if s.get("failed"):
        rows.append(("stopped (liquidated) at", str(s.get("failed_at")), "UTC"))
    return rows


def _fallback_metrics(run: RunData) -> list[tuple[str, str, str]]:
    s = run.summary
    dd, pct = C.drawdown(run)
    start = run.equity_start
    total = s.get("total_pnl")
    rows = [
        ("total P&L", _fmt(total, "usd"), "USD"),
        ("return", _fmt(total / start * 100 if total is not None and start else None, "pct"), "%"),
        ("max drawdown", _fmt(float(dd.min()) if len(dd) else None, "usd"), "USD"),
        ("max drawdown", _fmt(float(pct.min()) if len(pct) else None, "pct"), "% of peak"),
        ("fees", _fmt(s.get("fees"), "usd"), "USD"),
        ("slippage", _fmt(s.get("slippage"), "usd"), "USD"),
        ("funding (received +)", _fmt(s.get("funding"), "usd"), "USD"),
        ("hedge trades", _fmt(s.get("n_hedges"), "count"), "count"),
        ("liquidations", _fmt(s.get("liquidations"), "count"), "count"),
    ]
    return rows


def render_metrics(run: RunData, an: Analytics) -> Block:
    out = Block()
    m = an.get("metrics")
    if m.ok and isinstance(m.value, dict):
        v = m.value
        rows = [
            (label, _fmt(v[key], kind), unit)
            for key, (label, unit, kind) in METRICS.items()
            if key in v
        ]
        for key, value in v.items():
            if key in METRICS or key in METRICS_SHOWN_ELSEWHERE:
                continue
            if value is None or isinstance(value, int | float | np.number | bool | str):
                rows.append((key.replace("_", " "), _fmt(value), ""))
        note = (
            "Metrics from gammaperp.analytics.compute_metrics (docs/analytics.md); – = undefined."
        )
        basis = v.get("capital_at_risk_basis")
        if basis:
            note += f" Returns are on the capital at risk ({basis.replace('_', ' ')})."
        if v.get("notes"):
            note += " Notes: " + "; ".join(map(str, v["notes"])) + "."
        out.note = note
        left = table(rows, ("metric", "value", "unit"), "metrics")
    else:
        reason = m.reason or "compute_metrics() did not return a dict"
        out.note = (
            "Headline figures from the run summary and the equity curve. "
            f"Risk-adjusted metrics ({', '.join(ANALYTICS_ONLY)}) are not available: {reason}."
        )
        left = table(_fallback_metrics(run), ("metric", "value", "unit"), "metrics")
    right = table(_run_facts(run), ("run", "value", "unit"), "metrics")
    out.add(f'<div class="two-col"><div>{left}</div><div>{right}</div></div>')
    return out


# ---- chart sections ------------------------------------------------------------------------
def _chart_section(chart_id: str, builder: Callable[[RunData], go.Figure]) -> Callable:
    def render(run: RunData, an: Analytics) -> Block:
        return Block().add(Chart(chart_id, builder(run)))

    return render


def render_components(run: RunData, an: Analytics) -> Block:
    b = Block().add(Chart("components", C.components_chart(run)))
    s = run.summary
    rows = [
        (label, _fmt(sign * float(s.get(key, 0.0) or 0.0), "usd"), "USD")
        for key, label, sign in (
            ("perp_pnl", "perp / hedge trading", 1),
            ("option_pnl", "option", 1),
            ("funding", "funding (received +)", 1),
            ("fees", "− fees", -1),
            ("slippage", "− slippage", -1),
            ("fx_pnl", "fx (coin revaluation)", 1),
            ("total_pnl", "total", 1),
        )
    ]
    b.add(table(rows, ("component", "total", "unit"), "metrics narrow"))
    return b


# realized_vs_implied columns -> legend labels
VOL_COLUMNS = {
    "close_to_close": "realized, close-to-close",
    "parkinson": "realized, Parkinson (high/low)",
    "garman_klass": "realized, Garman-Klass (OHLC)",
    "implied": "implied (ATM IV)",
}


def render_vol(run: RunData, an: Analytics) -> Block:
    bar_s = float(run.market_info.get("bar_seconds") or 0)
    window, label = C.vol_window(bar_s) if bar_s > 0 else (0, "")
    v = an.get("vol", window=window) if window else None
    if v is not None and v.ok and isinstance(v.value, pd.DataFrame):
        df = v.value
        cols = [c for c in VOL_COLUMNS if c in df.columns]
        if cols:
            fig = C.frame_lines_chart(
                df[cols].rename(columns=VOL_COLUMNS),
                "Realized versus implied volatility (annualised, %)",
                "volatility (annualised, %)",
                cumulative=False,
                scale=100.0,
                columns=[VOL_COLUMNS[c] for c in cols],
                height=400,
                ticksuffix=" %",
            )
            b = Block(
                note=(
                    "From gammaperp.analytics.realized_vs_implied on every market bar: trailing "
                    f"{label} ({window:,} bars) realized vol of the strategy's perp by three "
                    "estimators against the ATM implied vol. Realized above implied is what a "
                    "long straddle's hedging earns from."
                )
            )
            return b.add(Chart("vol", fig))
    _, window, label = C.realized_vol(run)
    why = v.reason if v is not None and not v.ok else "no bar length in market.json"
    b = Block(
        note=(
            f"Realized vol computed by the report (gammaperp.analytics not used: {why}): root "
            f"mean square of log returns of the index price over a trailing {label} "
            f"({window:,} returns), annualised with a 365-day year. Implied vol is the IV the "
            "options were priced with."
        )
    )
    return b.add(Chart("vol", C.vol_chart(run)))


def _monthly_frame(obj: Any) -> pd.DataFrame | None:
    """compute_metrics()['monthly'] (list of {month, pnl, return}) -> month-indexed frame with
    ``pnl`` (USD) and ``return_pct`` (%)."""
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        df = pd.DataFrame(obj)
    elif isinstance(obj, pd.DataFrame):
        df = obj.reset_index() if "month" not in obj.columns else obj
    else:
        return None
    if "month" not in df.columns or "return" not in df.columns:
        return None
    out = pd.DataFrame(
        {
            "pnl": df["pnl"].to_numpy(dtype=float) if "pnl" in df else np.nan,
            "return_pct": df["return"].to_numpy(dtype=float) * 100.0,
        },
        index=pd.Index([str(m)[:7] for m in df["month"]], name="month"),
    )
    return out


def render_monthly(run: RunData, an: Analytics) -> Block:
    m = an.get("metrics")
    tab = None
    if m.ok and isinstance(m.value, dict):
        tab = _monthly_frame(m.value.get("monthly"))
    if tab is not None:
        cap = m.value.get("capital_at_risk")
        summary = m.value.get("monthly_summary") or ""
        b = Block(
            note=(
                "From gammaperp.analytics: P&L per UTC calendar month and its return on the "
                f"capital at risk ({_fmt(cap, 'usd')} USD). {summary.capitalize()}."
            )
        )
        title = "Monthly returns (% of capital at risk)"
    else:
        b = Block(
            note=(
                "Computed by the report from month-end equity (UTC calendar months); the first "
                "month is measured from the starting equity. First and last months may be "
                "partial (see days)."
            )
        )
        tab = C.monthly_table(run)
        title = "Monthly returns (% of equity at the previous month end)"
    b.add(Chart("monthly", C.monthly_chart(tab, title)))
    extra_cols = [c for c in tab.columns if c not in ("pnl", "return_pct")]
    rows = [
        (
            month,
            _fmt(r.get("pnl"), "usd"),
            _fmt(r.get("return_pct"), "pct"),
            *[_fmt(r[c], "usd" if c == "equity_end" else "auto") for c in extra_cols],
        )
        for month, r in tab.iterrows()
    ]
    units = {"equity_end": "equity at month end (USD)", "days": "days with data"}
    header = ("month (UTC)", "P&L (USD)", "return (%)", *[units.get(c, c) for c in extra_cols])
    return b.add(table(rows, header, "metrics narrow"))


ATTRIBUTION_COLUMNS = {
    "delta_pnl": "delta P&L",
    "gamma_pnl": "gamma P&L",
    "theta_pnl": "theta P&L",
    "vega_pnl": "vega P&L",
    "option_residual": "residual (unexplained)",
    "option_pnl": "option P&L (total)",
}


def render_attribution(run: RunData, an: Analytics) -> Block:
    a = an.get("attribution")
    if not a.ok:
        raise Unavailable(a.reason or "no attribution")
    frame = getattr(a.value, "frame", None)
    totals = getattr(a.value, "totals", None) or {}
    if not isinstance(frame, pd.DataFrame):
        raise Unavailable("gammaperp.analytics.attribute_pnl() returned no frame")
    cols = [c for c in ATTRIBUTION_COLUMNS if c in frame.columns]
    if not cols:
        raise Unavailable("the attribution frame has none of the greek P&L columns")
    b = Block(
        note=(
            "From gammaperp.analytics.attribute_pnl: each step's option P&L explained by the "
            "book's greeks at the start of the step: delta × ΔS, ½ gamma × ΔS², theta × Δt, "
            "vega × Δσ; the residual is what they leave unexplained. Accumulated over time."
        )
    )
    fig = C.frame_lines_chart(
        frame[cols].rename(columns=ATTRIBUTION_COLUMNS),
        "Cumulative option P&L attribution (USD)",
        "cumulative P&L (USD)",
        cumulative=True,
        columns=[ATTRIBUTION_COLUMNS[c] for c in cols],
        bold=("option P&L (total)",),
    )
    b.add(Chart("attribution", fig))
    rows = [
        (ATTRIBUTION_COLUMNS[c], _fmt(totals.get(c, float(frame[c].sum())), "usd"), "USD")
        for c in cols
    ]
    if totals.get("residual_share") is not None:
        rows.append(
            ("residual share of |gamma| + |theta|", _fmt(totals["residual_share"], "frac"), "%")
        )
    return b.add(table(rows, ("component", "total", "unit"), "metrics narrow"))


GAMMA_COLUMNS = {
    "dollar_gamma_pnl": "½ Γ ΔS²",
    "variance_cost": "− ½ Γ S² σᵢ² Δt",
    "theoretical": "theoretical gamma P&L",
    "simulated": "simulated (option + hedge)",
    "simulated_net": "simulated, net of costs",
}
GAMMA_TABLE = {
    "dollar_gamma_pnl": "½ Γ ΔS² (dollar gamma P&L)",
    "variance_cost": "− ½ Γ S² σᵢ² Δt (implied variance cost)",
    "theoretical": "theoretical gamma P&L (the two above)",
    "simulated": "simulated: option + hedge perp P&L",
    "simulated_net": "simulated, net of funding, fees and slippage",
}


def render_vol_analytics(run: RunData, an: Analytics) -> Block:
    g = an.get("gamma")
    if not g.ok:
        raise Unavailable(g.reason or "no vol analytics")
    df = g.value
    cols = [c for c in GAMMA_COLUMNS if isinstance(df, pd.DataFrame) and c in df.columns]
    if not cols:
        raise Unavailable("gammaperp.analytics.theoretical_gamma_pnl() returned no known columns")
    b = Block(
        note=(
            "From gammaperp.analytics.theoretical_gamma_pnl: the P&L a delta-hedged option book "
            "should earn, ½ Γ S² (σ_realized² − σ_implied²) Δt per step, against the P&L the "
            "simulation booked (option + hedge perp). USD, accumulated over time."
        )
    )
    fig = C.frame_lines_chart(
        df[cols].rename(columns=GAMMA_COLUMNS),
        "Theoretical gamma P&L versus simulated (cumulative, USD)",
        "cumulative P&L (USD)",
        cumulative=True,
        columns=[GAMMA_COLUMNS[c] for c in cols],
        bold=(GAMMA_COLUMNS["theoretical"], GAMMA_COLUMNS["simulated"]),
    )
    b.add(Chart("gamma_pnl", fig))
    rows = [
        (GAMMA_COLUMNS[c], _fmt(float(np.nansum(df[c].to_numpy(float))), "usd"), "USD")
        for c in cols
    ]
    return b.add(table(rows, ("series", "total", "unit"), "metrics narrow"))


def render_rolls(run: RunData, an: Analytics) -> Block:
    if not run.full:
        raise Unavailable("runs recorded with record='summary' keep no roll or liquidation log")
    b = Block()
    ro = run.rolls if run.rolls is not None else pd.DataFrame()
    if len(ro):
        shown = ro.iloc[:200]
        rows = [
            (
                str(ts)[:16],
                r["event"],
                _fmt(r["strike"], "usd"),
                str(r["expiry"])[:16],
                _fmt(r["call_qty"]),
                _fmt(r["put_qty"]),
                _fmt(r["underlying"], "usd"),
                _fmt(r["cash_flow"], "usd"),
            )
            for ts, r in shown.iterrows()
        ]
        header = (
            "time (UTC)",
            "event",
            "strike (USD)",
            "expiry (UTC)",
            "calls",
            "puts",
            "index (USD)",
            "cash flow (USD)",
        )
        b.add("<h3>Option rolls</h3>")
        if len(ro) > len(shown):
            b.add(f"<p class='caption'>First {len(shown)} of {len(ro):,} events.</p>")
        b.add(table(rows, header, "data"))
    else:
        b.add("<p>No option opens, expiries or closes.</p>")
    lq = run.liquidations if run.liquidations is not None else pd.DataFrame()
    b.add("<h3>Liquidations</h3>")
    if len(lq):
        rows = [
            (
                str(ts)[:16],
                r["venue"],
                r["instrument"],
                _fmt(r["qty"]),
                _fmt(r["price"], "usd"),
                _fmt(r["fee"], "usd"),
                _fmt(r["equity_before"], "usd"),
                _fmt(r["maint_margin"], "usd"),
            )
            for ts, r in lq.iterrows()
        ]
        header = (
            "time (UTC)",
            "venue",
            "instrument",
            "qty (contracts)",
            "price (USD)",
            "fee (USD)",
            "equity before (USD)",
            "maint. margin (USD)",
        )
        b.add(table(rows, header, "data"))
    else:
        b.add("<p>None.</p>")
    ev = run.events if run.events is not None else pd.DataFrame()
    b.add("<h3>Risk-overlay events</h3>")
    if len(ev):
        shown = ev.iloc[:200]
        rows = [
            (str(ts)[:16], r["event"], r["instrument"] or "portfolio", _fmt(r["value"]),
             _fmt(r["ref"]))
            for ts, r in shown.iterrows()
        ]  # fmt: skip
        if len(ev) > len(shown):
            b.add(f"<p class='caption'>First {len(shown)} of {len(ev):,} events.</p>")
        b.add(
            "<p class='caption'>Value and reference per event: the stop's equity and floor "
            "(USD), a stopped leg's P&amp;L and limit (USD), the short-window vol and k x the "
            "long one, the trend's fast/slow - 1, a capped order's wanted and sent quantity "
            "(see docs/strategies.md).</p>"
        )
        b.add(table(rows, ("time (UTC)", "event", "instrument", "value", "reference"), "data"))
    else:
        b.add("<p>None.</p>")
    return b


def _config_text(config: dict[str, Any]) -> tuple[str, str]:
    """(text, language): the resolved config as TOML when it validates, else JSON."""
    body = {k: v for k, v in config.items() if not str(k).startswith("_")}
    try:
        from gammaperp.config import ExperimentConfig, dump_toml

        return dump_toml(ExperimentConfig.model_validate(body)), "TOML"
    except Exception:
        return json.dumps(config, indent=2, sort_keys=True, default=str), "JSON"


def render_config(run: RunData, an: Analytics) -> Block:
    if not run.config:
        raise Unavailable("the run directory has no config.json")
    text, lang = _config_text(run.config)
    fp = run.config.get("_fingerprint")
    b = Block(note=f"The fully resolved configuration ({lang}); config fingerprint {fp or '–'}.")
    return b.add(f'<pre class="code">{esc(text)}</pre>')


def render_market(run: RunData, an: Analytics) -> Block:
    m = run.market_info
    if not m:
        raise Unavailable("the run directory has no market.json")
    b = Block()
    rows = []
    for k in sorted(m):
        if k in ("instruments", "fallbacks"):
            continue
        v = m[k]
        rows.append((k.replace("_", " "), v if not isinstance(v, dict | list) else json.dumps(v)))
    b.add(table(rows, ("field", "value"), "kv"))
    insts = m.get("instruments") or []
    if insts:
        keys = sorted({k for i in insts for k in i})
        b.add("<h3>Instruments</h3>")
        b.add(table([tuple(i.get(k, "") for k in keys) for i in insts], tuple(keys), "plain"))
    fb = m.get("fallbacks") or {}
    if fb:
        b.add("<h3>Fallbacks (series that were missing and how they were filled)</h3>")
        b.add(
            table(
                [(k, ", ".join(map(str, v))) for k, v in sorted(fb.items())],
                ("series", "fallback"),
                "kv",
            )
        )
    return b


def render_assumptions(run: RunData, an: Analytics) -> Block:
    b = Block()
    if run.assumptions:
        items = "".join(f"<li>{esc(a)}</li>" for a in run.assumptions)
        b.add(f"<h3>Assumptions (assumptions.json)</h3><ol>{items}</ol>")
    else:
        b.add("<h3>Assumptions</h3>" + unavailable("the run directory has no assumptions.json"))
    items = "".join(f"<li>{esc(a)}</li>" for a in LIMITS)
    b.add(f"<h3>Limits (docs/engine.md)</h3><ul>{items}</ul>")
    return b


SECTIONS: tuple[Section, ...] = (
    Section(
        "metrics",
        "Headline metrics",
        "Totals of the run (USD unless stated) and the risk-adjusted metrics.",
        render_metrics,
    ),
    Section(
        "equity",
        "Equity curve",
        "Account equity marked to market at each recorded step: cash plus perp unrealised "
        "P&L plus option value, in USD.",
        _chart_section("equity", C.equity_chart),
    ),
    Section(
        "drawdown",
        "Drawdown",
        "Distance of equity below its running peak (the starting equity counts as a peak), "
        "in % of that peak.",
        _chart_section("drawdown", C.drawdown_chart),
    ),
    Section(
        "components",
        "Cumulative P&L by component",
        "Running sums of the per-step flows: perp (hedge) trading P&L, option P&L, funding, "
        "fees and slippage (negative), fx revaluation of coin balances; they add up to equity "
        "minus the starting equity (up to the accounting residual). USD. Zero components are "
        "hidden (click the legend to show them).",
        render_components,
    ),
    Section(
        "hedge_profit",
        "Cumulative hedge-trade profit",
        "Mark-to-market P&L of the hedge perp position, the fees and slippage paid on hedge "
        "fills, and the net; dotted: number of hedge trades so far (right axis).",
        _chart_section("hedge_profit", C.hedge_profit_chart),
    ),
    Section(
        "price",
        "Price, hedge trades and net delta",
        "Top: the option's index price (USD) with every hedge fill (▲ buy, ▼ sell, at the "
        "fill price). Middle: net delta of the book (options + perps, in coin). Bottom: the "
        "hedge perp position (contracts). Shared time axis: zoom one panel, all follow.",
        _chart_section("price", C.price_hedges_chart),
    ),
    Section(
        "funding",
        "Funding",
        "Funding payments per settlement (bars: received positive, paid negative), their "
        "running total in USD (right axis) and the funding rate (% per funding interval).",
        _chart_section("funding", C.funding_chart),
    ),
    Section(
        "margin",
        "Margin ratio",
        "Maintenance margin of the whole book divided by equity, in %; the venue liquidates "
        "at 100 %.",
        _chart_section("margin", C.margin_chart),
    ),
    Section(
        "vol",
        "Realized versus implied volatility",
        "Trailing realized volatility of the index price against the implied volatility used "
        "to price the options, both annualised, in %. A long straddle earns from hedging when "
        "realized exceeds implied.",
        render_vol,
    ),
    Section(
        "monthly",
        "Monthly returns",
        "P&L per calendar month (UTC) in USD and as a return in % (its basis is stated "
        "below the title).",
        render_monthly,
    ),
    Section(
        "attribution",
        "Option P&L attribution",
        "Option P&L explained by delta, gamma, theta and vega, and the residual (USD).",
        render_attribution,
    ),
    Section(
        "vol_analytics",
        "Volatility analytics: theoretical gamma P&L",
        "Gamma P&L implied by realized versus implied variance against the realized hedging "
        "P&L (USD).",
        render_vol_analytics,
    ),
    Section(
        "rolls",
        "Option rolls and liquidations",
        "Every option open, expiry and close with strike, quantities and cash flow (USD); "
        "every liquidation with its price and fee; every risk-overlay event.",
        render_rolls,
    ),
    Section(
        "config",
        "Configuration",
        "The resolved experiment configuration this run used (defaults filled in).",
        render_config,
    ),
    Section(
        "market",
        "Data fingerprint and market",
        "The input market: source, period, bars, instruments, and the SHA-256 fingerprint of "
        "the data (market.json); the same fingerprint means the same input data.",
        render_market,
    ),
    Section(
        "assumptions",
        "Assumptions and limits",
        "What the simulation assumes; read before trusting a number.",
        render_assumptions,
    ),
)
SECTION_TITLES = tuple(s.title for s in SECTIONS)


# ---- assembly ------------------------------------------------------------------------------
@dataclass
class RenderedSection:
    section: Section
    block: Block | None
    reason: str | None


def render_sections(run: RunData, an: Analytics | None = None) -> list[RenderedSection]:
    an = an if an is not None else Analytics(run)
    out = []
    for sec in SECTIONS:
        try:
            out.append(RenderedSection(sec, sec.render(run, an), None))
        except Unavailable as exc:
            out.append(RenderedSection(sec, None, str(exc)))
        except Exception as exc:  # unexpected data must not cost the other sections
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reason = f"could not be drawn ({type(exc).__name__}: {msg}); please report this"
            out.append(RenderedSection(sec, None, reason))
    return out


def chart_html(chart: Chart) -> str:
    return pio.to_html(
        chart.fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{chart.id}",
        config=PLOT_CONFIG,
        validate=False,
    )


def charts_of(rendered: list[RenderedSection]) -> list[Chart]:
    return [p for r in rendered if r.block for p in r.block.parts if isinstance(p, Chart)]


def _when(text: Any) -> str:
    """``2024-01-01T01:00:00Z`` -> ``2024-01-01 01:00``."""
    if text is None:
        return "?"
    try:
        return pd.Timestamp(text).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return str(text)


def _header(run: RunData) -> str:
    m, s = run.market_info, run.summary
    period = f"{_when(m.get('start'))} .. {_when(m.get('end'))}" if m else "period unknown"
    total = s.get("total_pnl")
    status = "liquidated" if s.get("failed") else "completed"
    bits = [
        f"<b>{esc(period)} UTC</b>",
        f"source {esc(m.get('source', '?'))}",
        f"{_fmt(s.get('bars_run'), 'count')} bars",
        f"record={esc(run.record)}",
        f"total P&amp;L <b>{esc(_fmt(total, 'usd'))} USD</b>",
        esc(status),
    ]
    return " · ".join(bits)


def build_html(run: RunData, rendered: list[RenderedSection]) -> str:
    from plotly.offline import get_plotlyjs

    missing = [r for r in rendered if r.block is None]
    toc = "".join(
        f'<li><a href="#{r.section.id}">{esc(r.section.title)}</a>'
        + (' <span class="tag">not available</span>' if r.block is None else "")
        + "</li>"
        for r in rendered
    )
    body: list[str] = []
    for r in rendered:
        sec = r.section
        body.append(f'<section id="{sec.id}"><h2>{esc(sec.title)}</h2>')
        body.append(f'<p class="caption">{esc(sec.caption)}</p>')
        if r.block is None:
            body.append(unavailable(r.reason or "not available"))
        else:
            if r.block.note:
                body.append(f'<p class="note">{esc(r.block.note)}</p>')
            for part in r.block.parts:
                body.append(
                    f'<div class="chart">{chart_html(part)}</div>'
                    if isinstance(part, Chart)
                    else part
                )
        body.append("</section>")
    charts = charts_of(rendered)
    summary_note = ""
    if missing:
        names = ", ".join(r.section.title for r in missing)
        summary_note = f'<p class="na-summary">Not available in this report: {esc(names)}.</p>'
    docs_missing = ""
    if run.missing:
        names = esc(", ".join(run.missing))
        docs_missing = f'<p class="na-summary">Missing from the run directory: {names}.</p>'
    title = f"gammaperp report: {run.name}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gammaperp {esc(__version__)}">
<title>{esc(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">/* plotly.js (embedded, MIT licence) */
{get_plotlyjs()}</script>
</head>
<body data-charts="{" ".join(c.id for c in charts)}">
<header>
<h1>{esc(title)}</h1>
<p class="sub">{_header(run)}</p>
{summary_note}{docs_missing}
<nav><ol>{toc}</ol></nav>
</header>
<main>
{"".join(body)}
</main>
<footer>Generated by gammaperp {esc(__version__)}. Self-contained: no network access needed.
Long series are drawn with min/max decimation (at most {MAX_POINTS:,} points per line,
every bucket's extremes kept; at most {MAX_MARKERS:,} trade markers per kind); the run
directory's Parquet files hold every step.</footer>
</body>
</html>
"""


CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--fg);
  margin: 0; background: #f5f7fa; line-height: 1.45; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 0 0 4px; color: var(--accent); }
h3 { font-size: 1rem; margin: 16px 0 6px; }
.sub { color: var(--muted); margin: 0 0 10px; }
nav ol { columns: 3; margin: 8px 0 16px; padding-left: 20px; font-size: 0.92rem; }
nav a { color: var(--accent); text-decoration: none; }
section { background: white; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 0 0 18px; }
.caption { color: var(--muted); margin: 0 0 8px; font-size: 0.92rem; }
.note { margin: 0 0 8px; font-size: 0.9rem; }
.chart { margin: 6px 0; }
.na { background: #fff6e5; border: 1px solid #f0c36d; border-radius: 6px; padding: 10px 14px; }
.na-summary { background: #fff6e5; border-left: 4px solid #f0c36d; padding: 6px 10px; }
.tag { font-size: 0.75rem; color: #8a5a00; background: #fff0cc; border-radius: 4px;
  padding: 0 4px; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
  vertical-align: top; }
th { background: #f0f3f7; }
table.metrics td:nth-child(2), table.data td { text-align: right;
  font-variant-numeric: tabular-nums; }
table.data td:nth-child(-n+2) { text-align: left; }
table.plain td { text-align: left; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
table.kv td:last-child { font-family: ui-monospace, Menlo, Consolas, monospace;
  word-break: break-all; }
.two-col { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
pre.code { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 14px; overflow: auto; max-height: 520px; font-size: 0.85rem; }
footer { color: var(--muted); font-size: 0.85rem; padding-bottom: 30px; }
"""
