"""Performance metrics of a run: one small pure function per statistic, and
:func:`compute_metrics` that applies them to a :class:`~gammaperp.results.result.Result`.

Conventions (see ``docs/analytics.md`` for every formula):

* Money is USD. A step's P&L is its equity change; the first step is measured from the
  starting equity.
* Days are UTC calendar days; a step belongs to the day in which its bar ENDS, i.e. the day of
  ``ts - 1 ns`` (a bar closing at exactly 00:00 belongs to the day that just ended). Days
  without a bar inside the run count as 0 P&L. A year is 365 days.
* Returns are on **capital at risk** (see :func:`capital_at_risk_frame`), a constant: the peak
  over the run of premium at risk in options plus initial margin of perps.
* Undefined values (a Sharpe ratio with fewer than two days, a win rate without hedges) are
  None, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.analytics._common import (
    DAYS_PER_YEAR,
    NS_PER_DAY,
    bar_ns,
    bars_run,
    equity_curve,
    hedge_instrument_row,
    json_safe,
    leverage_of,
    step_pnl,
    strategy_instrument_row,
    venue_fx,
)
from gammaperp.analytics.attribution import option_slots

__all__ = [
    "SHORT_OPTION_MARGIN",
    "annualized_return",
    "annualized_volatility",
    "calmar_ratio",
    "capital_at_risk",
    "capital_at_risk_frame",
    "compute_metrics",
    "daily_pnl",
    "drawdown_stats",
    "funding_split",
    "hedge_trade_pnl",
    "mark_to_next_pnl",
    "monthly_pnl",
    "monthly_summary",
    "monthly_table",
    "perp_positions",
    "sharpe_ratio",
    "sortino_ratio",
    "time_in_market",
    "turnover",
    "win_rate",
]

SHORT_OPTION_MARGIN = 0.075  # Deribit-style: 7.5 % of the underlying per short option (+ mark)
_ONE_NS = pd.Timedelta(1, unit="ns")


# ---------------------------------------------------------------------------------------------
# time grouping
# ---------------------------------------------------------------------------------------------
def _period_sum(pnl: pd.Series, freq: str) -> pd.Series:
    if pnl.empty:
        return pd.Series(dtype=np.float64)
    idx = pd.DatetimeIndex(pnl.index)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    shifted = pd.Series(pnl.to_numpy(dtype=np.float64), index=idx.tz_convert("UTC") - _ONE_NS)
    return shifted.resample(freq).sum()


def daily_pnl(pnl: pd.Series) -> pd.Series:
    """P&L per UTC day: steps grouped by the day of ``ts - 1 ns``, empty days in the span 0.

    Index: the day's start (UTC midnight)."""
    out = _period_sum(pnl, "1D")
    out.name = "pnl"
    return out


def monthly_pnl(pnl: pd.Series) -> pd.Series:
    """P&L per UTC calendar month (same step convention as :func:`daily_pnl`); index: the
    month's first day, empty months in the span 0."""
    out = _period_sum(pnl, "MS")
    out.name = "pnl"
    return out


# ---------------------------------------------------------------------------------------------
# return statistics (daily returns on capital at risk)
# ---------------------------------------------------------------------------------------------
def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def annualized_return(total_pnl: float, capital: float, years: float) -> float | None:
    """Simple (not compounded) annual return: ``total_pnl / capital / years``."""
    if capital <= 0 or years <= 0:
        return None
    return _finite_or_none(total_pnl / capital / years)


def annualized_volatility(returns: Any) -> float | None:
    """``std(daily returns, ddof=1) * sqrt(365)``; None with fewer than two days."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return None
    return _finite_or_none(float(np.std(r, ddof=1)) * math.sqrt(DAYS_PER_YEAR))


def sharpe_ratio(returns: Any) -> float | None:
    """``mean / std(ddof=1) * sqrt(365)`` of daily returns, risk-free rate 0; None with fewer
    than two days or zero dispersion."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return None
    sd = float(np.std(r, ddof=1))
    if not sd > 0:
        return None
    return _finite_or_none(float(np.mean(r)) / sd * math.sqrt(DAYS_PER_YEAR))


def sortino_ratio(returns: Any) -> float | None:
    """``mean / downside deviation * sqrt(365)``; downside deviation =
    ``sqrt(mean(min(r, 0)^2))`` over ALL days (target 0). None with fewer than two days or no
    losing day."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return None
    dd = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if not dd > 0:
        return None
    return _finite_or_none(float(np.mean(r)) / dd * math.sqrt(DAYS_PER_YEAR))


def calmar_ratio(total_pnl: float, years: float, max_drawdown: float) -> float | None:
    """Annual P&L over the maximum drawdown, both USD: ``(total_pnl / years) / max_drawdown``.

    Equal to the annualised return on capital at risk divided by the drawdown as a fraction of
    capital at risk. None when there was no drawdown."""
    if years <= 0 or not max_drawdown > 0:
        return None
    return _finite_or_none(total_pnl / years / max_drawdown)


_NO_DRAWDOWN = {
    "max_drawdown": 0.0,
    "max_drawdown_pct": 0.0,
    "peak": None,
    "trough": None,
    "recovery": None,
    "recovered": True,
    "duration_days": 0.0,
}


def drawdown_stats(equity: pd.Series) -> dict[str, Any]:
    """Maximum drawdown of an equity curve (USD, UTC index).

    Returns ``max_drawdown`` (USD, >= 0: the largest fall from a running peak),
    ``max_drawdown_pct`` (the largest fall as a fraction of the running peak; it may come from
    another episode than the USD maximum), ``peak`` / ``trough`` / ``recovery`` (timestamps of
    the USD-maximum episode: the last time equity stood at the peak before the trough, the
    trough, and the first time equity was back at or above the peak, None if never),
    ``recovered`` and ``duration_days`` (peak to recovery, or peak to the last timestamp when
    not recovered; 0 without a drawdown).
    """
    eq = equity.to_numpy(dtype=np.float64)
    idx = pd.DatetimeIndex(equity.index)
    if eq.size == 0:
        return dict(_NO_DRAWDOWN)
    run_max = np.maximum.accumulate(eq)
    dd = run_max - eq
    with np.errstate(divide="ignore", invalid="ignore"):
        dd_pct = np.where(run_max > 0, dd / run_max, 0.0)
    trough = int(np.argmax(dd))
    max_dd = float(dd[trough])
    if not max_dd > 0:
        return dict(_NO_DRAWDOWN)
    peak_val = run_max[trough]
    peak = int(np.flatnonzero(eq[: trough + 1] == peak_val)[-1])
    after = np.flatnonzero(eq[trough:] >= peak_val)
    recovery = trough + int(after[0]) if after.size else None
    end = recovery if recovery is not None else eq.size - 1
    duration = (idx[end].value - idx[peak].value) / NS_PER_DAY
    return {
        "max_drawdown": max_dd,
        "max_drawdown_pct": float(np.max(dd_pct)),
        "peak": idx[peak],
        "trough": idx[trough],
        "recovery": idx[recovery] if recovery is not None else None,
        "recovered": recovery is not None,
        "duration_days": float(duration),
    }


# ---------------------------------------------------------------------------------------------
# exposure, trades, funding
# ---------------------------------------------------------------------------------------------
def capital_at_risk(option_capital: Any, perp_margin: Any) -> float:
    """Peak over steps of ``option_capital + perp_margin`` (USD)."""
    tot = np.asarray(option_capital, dtype=np.float64) + np.asarray(perp_margin, dtype=np.float64)
    return float(np.max(tot)) if tot.size else 0.0


def time_in_market(option_open: Any, perp_open: Any) -> float | None:
    """Fraction of steps with an open option or perp position; None without steps."""
    o = np.asarray(option_open, dtype=bool) | np.asarray(perp_open, dtype=bool)
    return float(np.mean(o)) if o.size else None


def win_rate(pnls: Any) -> float | None:
    """Fraction of trade P&Ls strictly above 0; None without trades."""
    p = np.asarray(pnls, dtype=np.float64)
    return float(np.mean(p > 0)) if p.size else None


def mark_to_next_pnl(
    qty: Any,
    price: Any,
    next_price: Any,
    fee: Any,
    slippage: Any,
    contract_size: Any = 1.0,
    inverse: Any = False,
) -> np.ndarray:
    """P&L (USD) of each trade marked to the next price, net of its fee and slippage.

    Linear: ``qty * cs * (next - price) - fee - slippage``. Inverse (USD contracts, coin P&L):
    ``qty * cs * (1/price - 1/next) * next - (fee + slippage) * price`` (coin converted at the
    respective price). ``price`` is the fill's reference price before slippage.
    """
    q = np.asarray(qty, dtype=np.float64)
    p = np.asarray(price, dtype=np.float64)
    nx = np.asarray(next_price, dtype=np.float64)
    cost = np.asarray(fee, dtype=np.float64) + np.asarray(slippage, dtype=np.float64)
    cs = np.asarray(contract_size, dtype=np.float64)
    inv = np.asarray(inverse, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = q * cs * (nx - p) - cost
        inv_pnl = q * cs * (1.0 / p - 1.0 / nx) * nx - cost * p
    return np.where(inv, inv_pnl, lin)


def turnover(qty: Any, price: Any, contract_size: Any = 1.0, inverse: Any = False) -> float:
    """Traded notional, USD: ``sum |qty * cs * price|`` (inverse: ``sum |qty * cs|``, the
    contracts being USD)."""
    q = np.abs(np.asarray(qty, dtype=np.float64)) * np.asarray(contract_size, dtype=np.float64)
    p = np.asarray(price, dtype=np.float64)
    return float(np.sum(np.where(np.asarray(inverse, dtype=bool), q, q * p)))


def funding_split(payments: Any) -> tuple[float, float]:
    """``(paid, received)``: both >= 0 USD; ``payments`` are signed (received > 0)."""
    p = np.asarray(payments, dtype=np.float64)
    return float(-np.sum(p[p < 0])), float(np.sum(p[p > 0]))


# ---------------------------------------------------------------------------------------------
# monthly table
# ---------------------------------------------------------------------------------------------
def monthly_table(pnl: pd.Series, capital: float) -> pd.DataFrame:
    """Per UTC calendar month: ``pnl`` (USD), ``return`` (pnl / capital) and ``profitable``
    (pnl > 0). Index: ``"YYYY-MM"`` strings."""
    m = monthly_pnl(pnl)
    ret = m / capital if capital > 0 else m * np.nan
    return pd.DataFrame(
        {"pnl": m.to_numpy(), "return": ret.to_numpy(), "profitable": m.to_numpy() > 0},
        index=pd.Index([d.strftime("%Y-%m") for d in m.index], name="month"),
    )


def monthly_summary(table: pd.DataFrame) -> str:
    """E.g. ``"profitable in 8 of 10 months"`` (``"1 month"`` when there is one)."""
    n = len(table)
    k = int(table["profitable"].sum()) if n else 0
    return f"profitable in {k} of {n} month{'s' if n != 1 else ''}"


# ---------------------------------------------------------------------------------------------
# from a Result
# ---------------------------------------------------------------------------------------------
def _fills(result: Any) -> pd.DataFrame:
    """Perp and spot fills of the blotter with their market row, kind and contract size."""
    t = result.trades
    t = t[~t["instrument"].isin(("call", "put"))]
    m = result.market
    rows = np.array(
        [m.instrument_index(n, v) for n, v in zip(t["instrument"], t["venue"], strict=True)],
        dtype=np.int64,
    )
    out = t.copy()
    out["row"] = rows
    out["cs"] = np.array([m.instruments[i].contract_size for i in rows], dtype=np.float64)
    out["kind"] = [m.instruments[i].kind for i in rows]
    usd = np.ones(len(out), dtype=np.float64)  # USD per unit of the fill's fee currency
    bars = out["bar"].to_numpy(dtype=np.int64)
    for i in np.unique(rows):
        sel = rows == i
        usd[sel] = venue_fx(result, int(result.inst_venue[i]))[bars[sel]]
    out["usd"] = usd
    return out


def perp_positions(result: Any) -> np.ndarray:
    """Position (contracts) of every market instrument after each bar's fills,
    ``[n_instruments, n_bars]``, accumulated from the blotter (``record="full"`` only)."""
    m = result.market
    pos = np.zeros((m.n_instruments, m.n_bars), dtype=np.float64)
    f = _fills(result)
    if len(f):
        np.add.at(pos, (f["row"].to_numpy(), f["bar"].to_numpy(dtype=np.int64)), f["qty"])
        pos = np.cumsum(pos, axis=1)
        pos[np.abs(pos) < 1e-12] = 0.0  # sums of lots that net out exactly
    return pos


def _short_qty_per_bar(result: Any) -> np.ndarray:
    """Short option contracts (calls + puts, coin) held after each bar, from the roll log."""
    n = result.market.n_bars
    out = np.zeros(n + 1, dtype=np.float64)
    slots = option_slots(result)
    if slots.empty:
        return out[:n]
    short = -(np.minimum(slots["call_qty"], 0.0) + np.minimum(slots["put_qty"], 0.0)).to_numpy()
    held_to_end = (slots["end_event"] == "open").to_numpy()
    np.add.at(out, slots["open_bar"].to_numpy(), short)
    ends = np.where(held_to_end, n, slots["end_bar"].to_numpy())
    np.add.at(out, ends, -short)
    return np.cumsum(out)[:n]


def capital_at_risk_frame(result: Any) -> pd.DataFrame:
    """Capital at risk per recorded step (USD), on the equity frame's index.

    * ``option_capital``: for long options the book's value (``option_value``: premium at risk,
      paid in full); for short options Deribit-style margin, 7.5 % of the underlying per short
      option plus the mark value owed (``0.075 x short qty x S + |option_value|``).
    * ``perp_margin``: initial margin of every perp position, ``|notional| / leverage`` of its
      venue (linear: ``|pos| x cs x close``; inverse: ``|pos| x cs`` USD); spot counts in full.
      With the blotter (``record="full"``) positions of all instruments are rebuilt from it;
      otherwise the hedge perp's ``hedge_position`` column is used.
    * ``capital_at_risk``: their sum. :func:`compute_metrics` uses its peak.
    """
    eq = result.equity
    m = result.market
    rec_bars = np.asarray(result.record_bars, dtype=np.int64)
    st = result.spec.strategy
    opt_val = eq["option_value"].to_numpy(dtype=np.float64)
    oi = strategy_instrument_row(result)
    if oi is not None:
        spot = np.asarray(m.index[oi], dtype=np.float64)[rec_bars]
    else:
        spot = np.zeros(rec_bars.shape[0])
    if getattr(result, "full", True):
        short_qty = _short_qty_per_bar(result)[rec_bars]
    else:  # no roll log: a short book holds quantity calls + quantity puts
        qty = float(getattr(st, "quantity", 0.0)) if st is not None else 0.0
        short_qty = np.where(opt_val < 0, 2.0 * qty, 0.0)
    option_cap = np.maximum(opt_val, 0.0) + np.where(
        short_qty > 0, SHORT_OPTION_MARGIN * short_qty * spot + np.maximum(-opt_val, 0.0), 0.0
    )

    venues = getattr(result.spec, "venues", ()) or ()
    lev_default = leverage_of(result) or 1.0
    perp_margin = np.zeros(rec_bars.shape[0], dtype=np.float64)
    if getattr(result, "full", True):
        pos = perp_positions(result)[:, rec_bars]
        rows = range(m.n_instruments)
    else:
        h = hedge_instrument_row(result)
        rows = [] if h is None else [h]
        pos = np.zeros((m.n_instruments, rec_bars.shape[0]))
        if h is not None:
            pos[h] = eq["hedge_position"].to_numpy(dtype=np.float64)
    for i in rows:
        inst = m.instruments[i]
        v = int(result.inst_venue[i])
        lev = float(venues[v].leverage) if v < len(venues) else lev_default
        close = np.asarray(m.close[i], dtype=np.float64)[rec_bars]
        a = np.abs(pos[i]) * inst.contract_size
        if inst.kind == "perp_inverse":
            perp_margin += a / lev
        elif inst.kind == "spot":
            perp_margin += a * close
        else:
            perp_margin += a * close / lev
    return pd.DataFrame(
        {
            "option_capital": option_cap,
            "perp_margin": perp_margin,
            "capital_at_risk": option_cap + perp_margin,
        },
        index=eq.index,
    )


def hedge_trade_pnl(result: Any) -> pd.DataFrame:
    """Every hedge fill (blotter reason ``"hedge"``) with its P&L marked to the next fill.

    A hedge trade's P&L is what its quantity earned until the position next changed: from its
    reference price (the bar close it filled against, before slippage) to the reference price
    of the next fill of the same instrument, whatever that fill's reason (a liquidation fill is
    marked at its execution price), or to the instrument's close at the last bar run; minus its
    own fee and slippage (:func:`mark_to_next_pnl`). ``pnl`` and ``fee_usd`` are USD; ``fee``
    and ``slippage`` are in the venue's currency (coin on a coin-margined venue).
    """
    f = _fills(result)
    last = bars_run(result) - 1
    m = result.market
    ref = np.where(
        f["reason"].to_numpy() == "liquidation", f["price"].to_numpy(), f["ref_price"].to_numpy()
    ).astype(np.float64)
    nxt = np.empty(len(f), dtype=np.float64)
    rows = f["row"].to_numpy()
    for i in np.unique(rows):  # one pass per instrument, vectorised over its fills
        sel = np.flatnonzero(rows == i)
        nxt[sel[:-1]] = ref[sel[1:]]
        nxt[sel[-1]] = float(m.close[i, last])
    inverse = (f["kind"] == "perp_inverse").to_numpy()
    fee = f["fee"].to_numpy(dtype=np.float64)
    slip = f["slippage"].to_numpy(dtype=np.float64)
    pnl = mark_to_next_pnl(f["qty"], ref, nxt, fee, slip, f["cs"], inverse)
    out = pd.DataFrame(
        {
            "bar": f["bar"].to_numpy(),
            "instrument": f["instrument"].to_numpy(),
            "qty": f["qty"].to_numpy(),
            "ref_price": ref,
            "next_price": nxt,
            "fee": fee,
            "slippage": slip,
            "fee_usd": fee * f["usd"].to_numpy(),
            "pnl": pnl,
        },
        index=f.index,
    )
    return out[f["reason"].to_numpy() == "hedge"]


def hedge_round_trips(result: Any) -> pd.DataFrame:
    """Closed round trips of hedge lots, matched first-in first-out per instrument.

    Every hedge fill opens a lot (or closes earlier opposite lots first); a lot is closed by
    the next opposite fills of the same instrument, whatever their reason (hedge or
    liquidation). Each matched quantity is one round trip: ``pnl`` is its price P&L between
    the two execution prices (USD; an inverse perp's coin P&L at the closing fill's USD rate)
    minus the shares of both fills' fees and slippage that belong to the matched quantity.
    Lots still open at the end are not round trips. Only fills whose opening was a hedge
    count; lots opened by scripted (user) or liquidation fills are matched but not reported.
    """
    return fifo_round_trips(_fills(result))


def fifo_round_trips(f: pd.DataFrame) -> pd.DataFrame:
    """FIFO round trips of a fills frame (columns ``row, instrument, bar, qty, price, fee,
    slippage, usd, cs, kind, reason``; see :func:`hedge_round_trips`)."""
    cols = ["open_bar", "close_bar", "instrument", "qty", "entry", "exit", "gross", "costs",
            "pnl"]  # fmt: skip
    if not len(f):
        return pd.DataFrame(columns=cols)
    qty = f["qty"].to_numpy(dtype=np.float64)
    price = f["price"].to_numpy(dtype=np.float64)
    cost = f["fee"].to_numpy(dtype=np.float64) + f["slippage"].to_numpy(dtype=np.float64)
    usd = f["usd"].to_numpy(dtype=np.float64)
    cs = f["cs"].to_numpy(dtype=np.float64)
    inverse = (f["kind"] == "perp_inverse").to_numpy()
    is_hedge = (f["reason"] == "hedge").to_numpy()
    bars = f["bar"].to_numpy(dtype=np.int64)
    rows = f["row"].to_numpy()
    names = f["instrument"].to_numpy()
    out: list[tuple] = []
    books: dict[int, list[list[float]]] = {}
    for j in range(len(f)):
        # lot: [remaining signed qty, price, cost per unit (USD), open bar, is hedge]
        book = books.setdefault(int(rows[j]), [])
        q = qty[j]
        unit_cost = cost[j] * usd[j] / abs(q)
        while q != 0.0 and book and (book[0][0] > 0.0) != (q > 0.0):
            lot = book[0]
            m_ = min(abs(q), abs(lot[0]))
            sign = 1.0 if lot[0] > 0.0 else -1.0
            if inverse[j]:
                gross = sign * m_ * cs[j] * (1.0 / lot[1] - 1.0 / price[j]) * usd[j]
            else:
                gross = sign * m_ * cs[j] * (price[j] - lot[1]) * usd[j]
            costs = m_ * (lot[2] + unit_cost)
            if lot[4]:
                out.append((int(lot[3]), int(bars[j]), names[j], sign * m_, lot[1], price[j],
                            gross, costs, gross - costs))  # fmt: skip
            lot[0] -= sign * m_
            q += sign * m_
            if abs(lot[0]) < 1e-12:
                book.pop(0)
        if abs(q) > 1e-12:
            book.append([q, price[j], unit_cost, float(bars[j]), bool(is_hedge[j])])
    return pd.DataFrame(out, columns=cols)


def _funding_usd(result: Any) -> np.ndarray:
    """Funding ledger payments in USD (coin payments at the venue's USD rate of that bar)."""
    fund = result.funding
    if not len(fund):
        return np.zeros(0, dtype=np.float64)
    m = result.market
    names = fund["instrument"].to_numpy()
    bars = fund["bar"].to_numpy(dtype=np.int64)
    usd = np.ones(len(fund), dtype=np.float64)
    for name in np.unique(names):
        i = m.instrument_index(str(name))
        sel = names == name
        usd[sel] = venue_fx(result, int(result.inst_venue[i]))[bars[sel]]
    return fund["payment"].to_numpy(dtype=np.float64) * usd


def _iso(ts: Any) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat()


def compute_metrics(result: Any) -> dict[str, Any]:
    """Every metric of a run under stable snake_case names; JSON-safe (None for undefined).

    Works for ``record="summary"`` results: the equity curve is then one row per day (coarser
    drawdowns and time in market); the trade statistics that need the blotter (``win_rate``,
    ``avg_pnl_per_hedge``, ``hedge_fees``, ``turnover``) and the funding split are None, and
    ``n_hedges`` comes from the totals. ``notes`` lists such fallbacks.
    """
    s = result.summary
    full = bool(getattr(result, "full", True))
    notes: list[str] = []
    pnl = step_pnl(result)
    total = float(s["equity_end"] - s["equity_start"])
    eq_curve = equity_curve(result)
    span_ns = int(result.market.ts[-1]) - int(result.market.ts[0]) + bar_ns(result.market)
    years = span_ns / NS_PER_DAY / DAYS_PER_YEAR

    car = capital_at_risk_frame(result)
    capital = float(car["capital_at_risk"].max()) if len(car) else 0.0
    basis = "peak_exposure"
    if not capital > 0:
        capital = float(s["equity_start"])
        basis = "initial_capital"
        notes.append("no position was ever held: returns are on the initial capital")

    daily = daily_pnl(pnl)
    rets = daily / capital
    dd = drawdown_stats(eq_curve)
    ann = annualized_return(total, capital, years)
    table = monthly_table(pnl, capital)

    # trades
    if full:
        hedges = hedge_trade_pnl(result)
        fills = _fills(result)
        n_hedges = len(hedges)
        trips = hedge_round_trips(result)
        n_trips = len(trips)
        wr = win_rate(trips["pnl"])
        avg = float(hedges["pnl"].mean()) if n_hedges else None
        hedge_fees = float(hedges["fee_usd"].sum())
        to = turnover(
            fills["qty"], fills["price"], fills["cs"], (fills["kind"] == "perp_inverse").to_numpy()
        )
        paid, received = funding_split(_funding_usd(result))
    else:
        n_hedges = int(s.get("n_hedges", 0))
        wr = avg = hedge_fees = to = paid = received = n_trips = None
        notes.append(
            "record='summary' keeps no blotter or funding ledger: win_rate, avg_pnl_per_hedge, "
            "hedge_fees, turnover and the funding split are None; n_hedges is the perp fill "
            "count; drawdown, capital at risk and time in market use one equity row per day"
        )

    opt_open = car["option_capital"].to_numpy() > 0
    perp_open = car["perp_margin"].to_numpy() > 0
    out: dict[str, Any] = {
        "record": "full" if full else "summary",
        "equity_start": float(s["equity_start"]),
        "equity_end": float(s["equity_end"]),
        "total_pnl": total,
        "option_pnl": float(s.get("option_pnl", 0.0)),
        "perp_pnl": float(s.get("perp_pnl", 0.0)),
        "fx_pnl": float(s.get("fx_pnl", 0.0)),
        "capital_at_risk": capital,
        "capital_at_risk_basis": basis,
        "days": span_ns / NS_PER_DAY,
        "years": years,
        "annualized_return": ann,
        "volatility": annualized_volatility(rets),
        "sharpe": sharpe_ratio(rets),
        "sortino": sortino_ratio(rets),
        "calmar": calmar_ratio(total, years, dd["max_drawdown"]),
        "max_drawdown": dd["max_drawdown"],
        "max_drawdown_pct": dd["max_drawdown_pct"],
        "max_drawdown_duration_days": dd["duration_days"],
        "max_drawdown_peak": _iso(dd["peak"]),
        "max_drawdown_trough": _iso(dd["trough"]),
        "max_drawdown_recovered": dd["recovered"],
        "fees": float(s["fees"]),
        "option_fees": float(s.get("option_fees", 0.0)),
        "hedge_fees": hedge_fees,
        "slippage": float(s["slippage"]),
        "funding": float(s["funding"]),
        "funding_paid": paid,
        "funding_received": received,
        "n_hedges": n_hedges,
        "n_trades": int(s.get("n_trades", 0)),
        "win_rate": wr,
        "n_round_trips": n_trips,
        "avg_pnl_per_hedge": avg,
        "turnover": to,
        "turnover_multiple": (to / capital) if to is not None else None,
        "liquidations": int(s.get("liquidations", 0)),
        "time_in_market": time_in_market(opt_open, perp_open),
        "profitable_months": int(table["profitable"].sum()),
        "months": len(table),
        "monthly_summary": monthly_summary(table),
        "monthly": [
            {"month": k, "pnl": float(r["pnl"]), "return": float(r["return"])}
            for k, r in table.iterrows()
        ],
        "notes": notes,
    }
    return json_safe(out)
