"""Shared helpers: time constants, per-step P&L, venue conversion, JSON-safe values.

Everything here reads a :class:`gammaperp.results.result.Result` through its public frames and
attributes only (``equity``, ``trades``, ``funding``, ``rolls``, ``summary``, ``spec``,
``market``, ``inst_venue``, ``venue_names``, ``full``, ``stride``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 10**9
DAYS_PER_YEAR = 365.0
NS_PER_YEAR = DAYS_PER_YEAR * NS_PER_DAY


def json_safe(x: Any) -> Any:
    """Plain Python value: numpy scalars to int/float/bool, NaN and +-inf to None, recursively
    through dicts, lists and tuples."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def bar_ns(market: Any) -> int:
    """Bar length in ns: the median spacing of the market index (1 when there is one bar)."""
    ts = np.asarray(market.ts, dtype=np.int64)
    if ts.shape[0] < 2:
        return 1
    return int(np.median(np.diff(ts[: min(ts.shape[0], 10_000)])))


def bars_run(result: Any) -> int:
    """Bars the engine actually ran (fewer than the market's after a stopped liquidation)."""
    return int(result.summary.get("bars_run", result.market.n_bars))


def step_pnl(result: Any) -> pd.Series:
    """P&L (USD) of each recorded step: the equity change since the previous row, the first
    row measured from ``equity_start`` (so the option premium / fees of bar 0 count)."""
    eq = result.equity["equity"].to_numpy(dtype=np.float64)
    prev = np.concatenate(([float(result.summary["equity_start"])], eq[:-1]))
    return pd.Series(eq - prev, index=result.equity.index, name="pnl")


def start_time(result: Any) -> pd.Timestamp:
    """When the run's capital is first at work: the open of the first bar (its close - one bar)."""
    return pd.Timestamp(int(result.market.ts[0]) - bar_ns(result.market), unit="ns", tz="UTC")


def equity_curve(result: Any) -> pd.Series:
    """Equity (USD) with the starting capital prepended at :func:`start_time`."""
    eq = result.equity["equity"]
    first = pd.Series([float(result.summary["equity_start"])], index=[start_time(result)])
    out = pd.concat([first, eq.astype(np.float64)])
    out.index = pd.DatetimeIndex(out.index, name="ts")
    out.name = "equity"
    return out


def venue_row(result: Any, name: str | None) -> int:
    """Row of venue ``name`` in ``result.venue_names`` (0 when ``name`` is None or unknown)."""
    names = tuple(result.venue_names)
    return names.index(name) if name in names else 0


def venue_fx(result: Any, v: int) -> np.ndarray:
    """USD per unit of venue ``v``'s settlement currency at every bar, as the engine uses it:
    the index of the venue's first instrument when the venue is coin-margined (has inverse
    perps), else 1."""
    m = result.market
    rows = np.flatnonzero(np.asarray(result.inst_venue) == v)
    kinds = {m.instruments[i].kind for i in rows}
    if "perp_inverse" in kinds:
        return np.asarray(m.index[int(rows[0])], dtype=np.float64)
    return np.ones(m.n_bars, dtype=np.float64)


def strategy_instrument_row(result: Any) -> int | None:
    """Market row of the strategy's (first) instrument: the straddle's underlying or the
    scalper's perp (``instrument``), a carry's or pair's first leg (``long_instrument`` on its
    venue); None without a strategy."""
    st = result.spec.strategy
    if st is None:
        return None
    name = getattr(st, "instrument", None)
    if name is not None:
        # a scalper's ``venue`` is its perp's venue (a straddle's is the options' venue)
        venue = getattr(st, "venue", None) if hasattr(st, "max_inventory") else None
        return result.market.instrument_index(name, venue)
    long = getattr(st, "long_instrument", None)
    if long is None:
        return None
    return result.market.instrument_index(long, getattr(st, "long_venue", None))


def hedge_instrument_row(result: Any) -> int | None:
    """Market row of the strategy's hedge perp (a straddle's hedge, a pair's hedge leg), or
    None without a hedging strategy."""
    st = result.spec.strategy
    if st is None or getattr(st, "hedge_instrument", None) is None:
        return None
    try:
        return result.market.instrument_index(st.hedge_instrument, st.hedge_venue)
    except Exception:
        return result.market.instrument_index(st.hedge_instrument)


def leverage_of(result: Any, venue: str | None = None) -> float | None:
    """Leverage of ``venue`` from ``result.spec.venues`` (first venue when None or unknown),
    falling back to ``result.config['venues'][0]['leverage']``; None when neither is known."""
    venues = getattr(result.spec, "venues", ()) or ()
    for vs in venues:
        if vs.name == venue:
            return float(vs.leverage)
    if venues:
        return float(venues[0].leverage)
    try:
        return float(result.config["venues"][0]["leverage"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _ns_index_of(ns: Any) -> pd.DatetimeIndex:
    """UTC DatetimeIndex named ``ts`` from int64 nanoseconds."""
    return pd.DatetimeIndex(
        pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=True), name="ts"
    )
