"""Figure builders: one function per chart, each reading a :class:`RunData`.

Every builder returns a plotly ``Figure`` or raises :class:`Unavailable` with the reason
(shown in the report in place of the chart). Long series go through min/max decimation
(:mod:`gammaperp.report.decimate`); time axes carry UTC epoch milliseconds on a ``date`` axis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gammaperp.report.decimate import MAX_MARKERS, MAX_POINTS, even_indices, minmax_indices

TIME_TITLE = "time (UTC)"
COLORS = {
    "equity": "#1f5fa8",
    "drawdown": "#c0392b",
    "perp": "#1f77b4",
    "option": "#ff7f0e",
    "funding": "#2ca02c",
    "fees": "#d62728",
    "slippage": "#9467bd",
    "fx": "#8c564b",
    "total": "#111111",
    "buy": "#1a9850",
    "sell": "#d73027",
    "price": "#4d4d4d",
    "delta": "#7b3294",
    "position": "#1f77b4",
    "realized": "#e6550d",
    "implied": "#3182bd",
    "neutral": "#7f7f7f",
}
_AXIS = {
    "gridcolor": "#e6e6e6",
    "linecolor": "#9a9a9a",
    "zerolinecolor": "#c8c8c8",
    "ticks": "outside",
    "tickcolor": "#9a9a9a",
    "automargin": True,
    "title": {"standoff": 8},
}
TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": [COLORS[k] for k in ("perp", "option", "funding", "fees", "slippage", "fx")],
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "hoverlabel": {"namelength": -1},
    }
)


class Unavailable(Exception):
    """A chart cannot be drawn for this run; the message says why."""


# ---- helpers -------------------------------------------------------------------------------
def time_ms(index: pd.Index) -> np.ndarray:
    """UTC epoch milliseconds (float64) of a datetime index, for a plotly ``date`` axis."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.values.astype("datetime64[ms]").astype(np.int64).astype(np.float64)


def line(
    x: np.ndarray,
    y: Any,
    name: str,
    color: str | None = None,
    *,
    max_points: int = MAX_POINTS,
    **kw: Any,
) -> go.Scatter:
    """A line trace, min/max-decimated to at most ``max_points`` points."""
    yv = np.asarray(y, dtype=np.float64)
    idx = minmax_indices(yv, max_points)
    lk = {"width": 1.4}
    if color:
        lk["color"] = color
    lk.update(kw.pop("line", {}))
    return go.Scatter(x=x[idx], y=yv[idx], mode="lines", name=name, line=lk, **kw)


LEGEND_WIDTH_PX = 860  # plot width the legend must fit in (the report's narrowest chart)


def _legend_rows(fig: go.Figure) -> int:
    """Rows a horizontal legend needs, from an estimate of each entry's width in pixels."""
    names = [str(t.name) for t in fig.data if t.name and t.showlegend is not False]
    if not names:
        return 0
    rows, used = 1, 0.0
    for name in names:
        w = 40 + 6.6 * len(name)
        if used and used + w > LEGEND_WIDTH_PX:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def _layout(fig: go.Figure, title: str, height: int = 380, **kw: Any) -> go.Figure:
    """Title on top, the legend in its own band(s) between title and plot (never overlapping)."""
    rows = _legend_rows(fig) if kw.get("showlegend", True) else 0
    top = 44 + 22 * rows
    height += 22 * max(rows - 1, 0)
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 1 - 12 / height,
            "yanchor": "top",
            "font": {"size": 14},
        },
        height=height,
        margin={"l": 70, "r": 30, "t": top, "b": 50},
        hovermode="x unified",
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0.0,
            "entrywidthmode": "pixels",
        },
        **kw,
    )
    return fig


def _time_axes(fig: go.Figure, x: np.ndarray, **kw: Any) -> None:
    """Date axes spanning exactly the run (markers would otherwise pad the range)."""
    rng = None
    if len(x):
        lo, hi = np.asarray([x[0], x[-1]]).astype("datetime64[ms]")
        if hi > lo:
            rng = [str(lo).replace("T", " "), str(hi).replace("T", " ")]
    fig.update_xaxes(type="date", hoverformat="%Y-%m-%d %H:%M UTC", range=rng, **kw)


def _require_column(df: pd.DataFrame, *cols: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise Unavailable(f"the equity frame has no '{c}' column")


def _need_rows(df: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        raise Unavailable(f"no {what}")
    return df


def _need_full(run: Any, what: str) -> None:
    if not run.full:
        raise Unavailable(
            f"drawing {what} needs the trade blotter, which runs recorded with record='summary' "
            "do not keep (re-run with output.record = 'full')"
        )


def underlying(run: Any) -> str:
    insts = run.market_info.get("instruments") or []
    if insts and insts[0].get("underlying"):
        return str(insts[0]["underlying"])
    return "coin"


def _inst_kinds(run: Any) -> dict[str, dict[str, Any]]:
    return {str(i.get("name")): i for i in (run.market_info.get("instruments") or [])}


# ---- derived series ------------------------------------------------------------------------
def drawdown(run: Any) -> tuple[pd.Series, pd.Series]:
    """Drawdown from the running peak (the starting equity counts as a peak): USD and %."""
    eq = run.equity["equity"].astype(float)
    peak = np.maximum.accumulate(np.maximum(eq.to_numpy(), run.equity_start))
    dd = eq - peak
    pct = pd.Series(np.where(peak > 0, dd / peak * 100.0, np.nan), index=eq.index)
    return dd, pct


COMPONENTS = (
    # column, label, sign, color key
    ("perp_pnl", "perp / hedge trading", 1.0, "perp"),
    ("option_pnl", "option", 1.0, "option"),
    ("funding", "funding (received +)", 1.0, "funding"),
    ("fees", "− fees", -1.0, "fees"),
    ("slippage", "− slippage", -1.0, "slippage"),
    ("fx", "fx (coin revaluation)", 1.0, "fx"),
)


def realized_vol(run: Any) -> tuple[pd.Series, int, str]:
    """Rolling realized vol (annualised, %) of the strategy's index price.

    Root mean square of log returns over a trailing window (:func:`vol_window`), times
    ``sqrt(seconds per 365-day year / bar seconds)``. Returns (series, window, label).
    """
    _require_column(run.equity, "price")
    price = run.equity["price"].astype(float)
    if len(price) < 12:
        raise Unavailable("too few rows for a rolling realized vol")
    ns = pd.DatetimeIndex(price.index).asi8
    dt = float(np.median(np.diff(ns))) / 1e9 * _ns_per_unit(price.index)
    if not dt > 0:
        raise Unavailable("the equity index is not increasing")
    window, label = vol_window(dt)
    r = np.log(price.where(price > 0)).diff()
    rv = (r * r).rolling(window, min_periods=window).mean() ** 0.5
    return rv * math.sqrt(365 * 86_400 / dt) * 100.0, window, label


def vol_window(bar_seconds: float) -> tuple[int, str]:
    """Trailing window of the realized vol, in bars, and its label: 1 day of bars for bars
    of 15 min or less, 7 days up to 4 h bars, else 30 days; at least 10 bars."""
    if bar_seconds <= 900:
        span, label = 86_400.0, "1 day"
    elif bar_seconds <= 4 * 3600:
        span, label = 7 * 86_400.0, "7 days"
    else:
        span, label = 30 * 86_400.0, "30 days"
    return max(10, round(span / bar_seconds)), label


def _ns_per_unit(index: pd.Index) -> float:
    """``asi8`` is in the index's unit (pandas >= 2 may store us or ms): scale to ns."""
    unit = getattr(pd.DatetimeIndex(index), "unit", "ns")
    return {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[unit]


def monthly_table(run: Any) -> pd.DataFrame:
    """Month-end equity, P&L (USD) and return (%) per calendar month (UTC)."""
    eq = run.equity["equity"].astype(float)
    if len(eq) == 0:
        raise Unavailable("the equity frame is empty")
    idx = pd.DatetimeIndex(eq.index)
    naive = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
    months = naive.to_period("M")
    end = eq.groupby(months).last()
    days = pd.Series(naive.normalize(), index=months).groupby(level=0).nunique()
    prev = pd.Series([run.equity_start, *end.to_numpy()[:-1]], index=end.index)
    pnl = end - prev
    out = pd.DataFrame(
        {
            "equity_end": end,
            "pnl": pnl,
            "return_pct": np.where(prev > 0, pnl / prev * 100.0, np.nan),
            "days": days,
        }
    )
    out.index = out.index.astype(str)
    out.index.name = "month"
    return out


# ---- charts --------------------------------------------------------------------------------
def equity_chart(run: Any) -> go.Figure:
    eq = run.equity
    _require_column(eq, "equity")
    x = time_ms(eq.index)
    fig = go.Figure()
    fig.add_trace(line(x, eq["equity"], "equity", COLORS["equity"], line={"width": 1.6}))
    fig.add_hline(
        y=run.equity_start,
        line={"color": COLORS["neutral"], "dash": "dot", "width": 1},
        annotation_text="start",
        annotation_position="bottom left",
    )
    liq = run.liquidations
    if liq is not None and len(liq):
        lx = time_ms(liq.index)
        ly = np.interp(lx, x, eq["equity"].to_numpy(dtype=float))
        fig.add_trace(
            go.Scatter(
                x=lx,
                y=ly,
                mode="markers",
                name="liquidation",
                marker={"symbol": "x", "size": 11, "color": "black"},
            )
        )
    _layout(fig, "Equity (USD)")
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="equity (USD)", tickformat=",.0f")
    return fig


def drawdown_chart(run: Any) -> go.Figure:
    _require_column(run.equity, "equity")
    dd, pct = drawdown(run)
    x = time_ms(run.equity.index)
    fig = go.Figure(
        line(
            x,
            pct,
            "drawdown",
            COLORS["drawdown"],
            fill="tozeroy",
            fillcolor="rgba(192,57,43,0.18)",
        )
    )
    title = "Drawdown from running peak (% of peak equity)"
    if np.isfinite(pct.to_numpy()).any():
        i = int(np.nanargmin(pct.to_numpy()))
        title += f": max {pct.iloc[i]:.2f} % ({dd.iloc[i]:,.0f} USD)"
    _layout(fig, title, showlegend=False)
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="drawdown (%)", ticksuffix=" %")
    return fig


def components_chart(run: Any) -> go.Figure:
    eq = run.equity
    _require_column(eq, "equity")
    x = time_ms(eq.index)
    fig = go.Figure()
    for col, label, sign, color in COMPONENTS:
        if col not in eq.columns:
            continue
        cum = np.cumsum(sign * eq[col].to_numpy(dtype=float))
        quiet = bool(np.all(cum == 0))
        fig.add_trace(
            line(
                x,
                cum,
                label + (" (zero)" if quiet else ""),
                COLORS[color],
                visible="legendonly" if quiet else True,
            )
        )
    total = eq["equity"].to_numpy(dtype=float) - run.equity_start
    fig.add_trace(line(x, total, "total (equity − start)", COLORS["total"], line={"width": 2.2}))
    _layout(fig, "Cumulative P&L by component (USD)", height=420)
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="cumulative P&L (USD)", tickformat=",.0f")
    return fig


def hedge_profit_chart(run: Any) -> go.Figure:
    _need_full(run, "the hedge-trade profit")
    eq = run.equity
    _require_column(eq, "perp_pnl")
    tr = run.trades
    hedges = tr[tr["reason"] == "hedge"] if tr is not None and len(tr) else None
    if hedges is None or len(hedges) == 0:
        raise Unavailable("the run made no hedge trades")
    x = time_ms(eq.index)
    gross = np.cumsum(eq["perp_pnl"].to_numpy(dtype=float))
    tx = time_ms(hedges.index)
    cost = np.cumsum(hedges["fee"].to_numpy(dtype=float) + hedges["slippage"].to_numpy(float))
    count = np.arange(1, len(hedges) + 1, dtype=float)
    pos = np.searchsorted(tx, x, side="right") - 1  # trades at or before each step
    cost_at = np.where(pos >= 0, cost[np.maximum(pos, 0)], 0.0)
    count_at = np.where(pos >= 0, count[np.maximum(pos, 0)], 0.0)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(line(x, gross, "perp P&L, gross (USD)", COLORS["perp"]), secondary_y=False)
    fig.add_trace(
        line(x, -cost_at, "− hedge fees and slippage (USD)", COLORS["fees"]),
        secondary_y=False,
    )
    fig.add_trace(
        line(x, gross - cost_at, "hedge profit, net (USD)", COLORS["total"], line={"width": 2}),
        secondary_y=False,
    )
    fig.add_trace(
        line(
            x,
            count_at,
            "hedge trades (count, right axis)",
            COLORS["neutral"],
            line={"dash": "dot", "width": 1},
        ),
        secondary_y=True,
    )
    _layout(fig, "Cumulative hedge-trade profit (USD)", height=420)
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="cumulative P&L (USD)", tickformat=",.0f", secondary_y=False)
    fig.update_yaxes(
        title_text="hedge trades (count)",
        showgrid=False,
        rangemode="tozero",
        tickmode="auto",
        tickformat=",d",
        secondary_y=True,
    )
    return fig


def price_hedges_chart(run: Any) -> go.Figure:
    _need_full(run, "the trade markers")
    eq = run.equity
    _require_column(eq, "price", "net_delta")
    coin = underlying(run)
    x = time_ms(eq.index)
    has_pos = "hedge_position" in eq.columns
    rows = 3 if has_pos else 2
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.5, 0.25, 0.25][:rows],
    )
    fig.add_trace(line(x, eq["price"], "index price", COLORS["price"], line={"width": 1}), 1, 1)
    tr = run.trades if run.trades is not None else pd.DataFrame()
    notes = []
    if len(tr):
        kinds = [
            ("hedge buy", (tr["reason"] == "hedge") & (tr["qty"] > 0), "triangle-up", "buy"),
            ("hedge sell", (tr["reason"] == "hedge") & (tr["qty"] < 0), "triangle-down", "sell"),
            ("other fill", tr["reason"] != "hedge", "diamond", "neutral"),
        ]
        for name, mask, symbol, color in kinds:
            sub = tr[mask.to_numpy()]
            if len(sub) == 0:
                continue
            keep = even_indices(len(sub), MAX_MARKERS)
            if len(keep) < len(sub):
                notes.append(f"{name}: {len(keep):,} of {len(sub):,} shown")
            sub = sub.iloc[keep]
            fig.add_trace(
                go.Scatter(
                    x=time_ms(sub.index),
                    y=sub["price"].to_numpy(dtype=float),
                    customdata=np.abs(sub["qty"].to_numpy(dtype=float)),
                    mode="markers",
                    name=name,
                    marker={"symbol": symbol, "size": 7, "color": COLORS[color], "opacity": 0.85},
                    hovertemplate="%{customdata:.4g} @ %{y:,.2f}",
                ),
                1,
                1,
            )
    fig.add_trace(line(x, eq["net_delta"], f"net delta ({coin})", COLORS["delta"]), 2, 1)
    if has_pos:
        fig.add_trace(
            line(x, eq["hedge_position"], "hedge perp position", COLORS["position"]), 3, 1
        )
    title = "Index price with hedge trades; net delta and hedge position beneath"
    if notes:
        title += " (markers sub-sampled: " + "; ".join(notes) + ")"
    _layout(fig, title, height=720)
    _time_axes(fig, x)
    fig.update_xaxes(title_text=TIME_TITLE, row=rows, col=1)
    fig.update_yaxes(title_text="price (USD)", tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(title_text=f"net delta<br>({coin})", row=2, col=1)
    if has_pos:
        fig.update_yaxes(title_text="hedge perp<br>(contracts)", row=3, col=1)
    return fig


def funding_chart(run: Any) -> go.Figure:
    eq = run.equity
    if run.full:
        fl = _need_rows(run.funding, "funding events in this run")
        x = time_ms(eq.index)
        kinds = _inst_kinds(run)
        fig = make_subplots(
            rows=2,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.06,
            row_heights=[0.65, 0.35],
            specs=[[{"secondary_y": True}], [{}]],
        )
        units = set()
        for inst, grp in fl.groupby("instrument", sort=True):
            info = kinds.get(str(inst), {})
            unit = info.get("underlying", "coin") if info.get("kind") == "perp_inverse" else "USD"
            units.add(unit)
            gx = time_ms(grp.index)
            fig.add_trace(
                go.Bar(
                    x=gx,
                    y=grp["payment"].to_numpy(dtype=float),
                    name=f"{inst} payment ({unit})",
                    marker={"color": np.where(grp["payment"] >= 0, COLORS["buy"], COLORS["sell"])},
                ),
                row=1,
                col=1,
                secondary_y=False,
            )
            fig.add_trace(
                line(gx, grp["rate"].to_numpy(dtype=float) * 100.0, f"{inst} rate", COLORS["fx"]),
                row=2,
                col=1,
            )
        if "funding" in eq.columns:
            fig.add_trace(
                line(
                    x,
                    np.cumsum(eq["funding"].to_numpy(dtype=float)),
                    "cumulative funding (USD, right axis)",
                    COLORS["funding"],
                    line={"width": 2},
                ),
                row=1,
                col=1,
                secondary_y=True,
            )
        unit = units.pop() if len(units) == 1 else "native units"
        _layout(fig, "Funding received (+) or paid (−) per event, cumulative", height=520)
        _time_axes(fig, x)
        fig.update_xaxes(title_text=TIME_TITLE, row=2, col=1)
        fig.update_yaxes(title_text=f"payment ({unit})", row=1, col=1, secondary_y=False)
        fig.update_yaxes(
            title_text="cumulative (USD)",
            showgrid=False,
            tickmode="auto",
            row=1,
            col=1,
            secondary_y=True,
        )
        fig.update_yaxes(
            title_text="rate (% per interval)", ticksuffix=" %", row=2, col=1, tickformat=".3f"
        )
        fig.update_layout(bargap=0.1)
        return fig
    _require_column(eq, "funding")
    x = time_ms(eq.index)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    daily = eq["funding"].to_numpy(dtype=float)
    fig.add_trace(
        go.Bar(
            x=x,
            y=daily,
            name="funding per recorded step (USD)",
            marker={"color": np.where(daily >= 0, COLORS["buy"], COLORS["sell"])},
        ),
        secondary_y=False,
    )
    fig.add_trace(
        line(x, np.cumsum(daily), "cumulative (USD, right axis)", COLORS["funding"]),
        secondary_y=True,
    )
    _layout(fig, "Funding received (+) or paid (−) per recorded step (record='summary')")
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="funding per step (USD)", secondary_y=False)
    fig.update_yaxes(
        title_text="cumulative (USD)", showgrid=False, tickmode="auto", secondary_y=True
    )
    return fig


def margin_chart(run: Any) -> go.Figure:
    eq = run.equity
    _require_column(eq, "margin_ratio")
    x = time_ms(eq.index)
    pct = eq["margin_ratio"].to_numpy(dtype=float) * 100.0
    fig = go.Figure(line(x, pct, "maintenance margin / equity", COLORS["drawdown"]))
    mx = run.summary.get("max_margin_ratio")
    if mx is not None and np.isfinite(mx):
        fig.add_hline(
            y=float(mx) * 100.0,
            line={"color": COLORS["neutral"], "dash": "dot", "width": 1},
            annotation_text=f"max over the run (incl. intrabar checks): {float(mx) * 100:.3g} %",
            annotation_position="top left",
        )
    top = np.nanmax(pct) if len(pct) and np.isfinite(pct).any() else 0.0
    if max(top, float(mx or 0) * 100) > 50:
        fig.add_hline(
            y=100.0,
            line={"color": "black", "dash": "dash", "width": 1},
            annotation_text="liquidation (100 %)",
            annotation_position="top right",
        )
    title = "Margin ratio: maintenance margin / equity (%, liquidation at 100 %)"
    if not run.full:
        title += ", sampled once per recorded step"
    _layout(fig, title, showlegend=False)
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="margin ratio (%)", ticksuffix=" %", rangemode="tozero")
    return fig


def vol_chart(run: Any) -> go.Figure:
    eq = run.equity
    rv, window, label = realized_vol(run)
    x = time_ms(eq.index)
    fig = go.Figure()
    fig.add_trace(
        line(x, rv, f"realized vol (trailing {label}, {window:,} returns)", COLORS["realized"])
    )
    if "iv" in eq.columns:
        iv = eq["iv"].astype(float)
        iv = iv.where(iv > 0) * 100.0
        if iv.notna().any():
            fig.add_trace(line(x, iv, "implied vol (pricing IV)", COLORS["implied"]))
    _layout(fig, "Realized versus implied volatility (annualised, %)")
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(title_text="volatility (annualised, %)", ticksuffix=" %")
    return fig


def monthly_chart(
    table: pd.DataFrame, title: str = "Monthly returns (% of equity at the previous month end)"
) -> go.Figure:
    if "return_pct" not in table.columns or len(table) == 0:
        raise Unavailable("no monthly returns")
    ret = table["return_pct"].to_numpy(dtype=float)
    pnl = (
        table["pnl"].to_numpy(dtype=float) if "pnl" in table.columns else np.full_like(ret, np.nan)
    )
    fig = go.Figure(
        go.Bar(
            x=[str(m) for m in table.index],
            y=ret,
            customdata=pnl,
            marker={"color": np.where(ret >= 0, COLORS["buy"], COLORS["sell"])},
            text=[f"{v:+.2f} %" for v in ret],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:+.2f} % (%{customdata:,.0f} USD)<extra></extra>",
            name="monthly return",
        )
    )
    _layout(fig, title, showlegend=False)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category", title_text="month (UTC)")
    fig.update_yaxes(title_text="return (%)", ticksuffix=" %", zeroline=True)
    return fig


def frame_lines_chart(
    df: pd.DataFrame,
    title: str,
    ytitle: str,
    *,
    cumulative: bool,
    scale: float = 1.0,
    columns: list[str] | None = None,
    bold: tuple[str, ...] = (),
    height: int = 420,
    ticksuffix: str | None = None,
) -> go.Figure:
    """Lines of a time-indexed frame's columns (analytics output), optionally accumulated."""
    cols = columns or [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if not cols:
        raise Unavailable("the analytics frame has no numeric columns")
    x = time_ms(df.index)
    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    for i, c in enumerate(cols):
        y = df[c].to_numpy(dtype=float) * scale
        if cumulative:
            y = np.nancumsum(y)
        color = COLORS["total"] if c in bold and i == cols.index(bold[0]) else palette[i % 7]
        width = 2.2 if c in bold else 1.4
        fig.add_trace(line(x, y, str(c), color, line={"width": width}))
    _layout(fig, title, height=height)
    _time_axes(fig, x, title_text=TIME_TITLE)
    fig.update_yaxes(
        title_text=ytitle, ticksuffix=ticksuffix, tickformat=",.0f" if "USD" in ytitle else None
    )
    return fig
