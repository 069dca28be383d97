"""Build the engine's :class:`Market` from aligned data or from an experiment config.

Synthetic and file-based markets take the same path: canonical ``Series`` ->
:func:`gammaperp.data.resample.align` (bars on their close time, funding mapped to bars, IV as
of each bar without look-ahead) -> :class:`MarketBuilder` (validation) -> :class:`Market`.
:func:`market_from_aligned` shares one price path between its instruments;
:func:`market_from_multi` gives each instrument its own prices and funding (a second asset,
a spot leg, two venues' perps with different funding) on the main series' bars.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gammaperp.data.frames import Series
from gammaperp.data.resample import AlignedMarket, align
from gammaperp.errors import DataError
from gammaperp.market.model import Instrument, Market, MarketBuilder

NS_PER_HOUR = 3_600 * 10**9


def underlying_of(symbol: str) -> str:
    """Base coin of a symbol: ``BTCUSDT`` -> ``BTC``, ``ETH-PERP`` -> ``ETH``."""
    s = re.sub(r"[^A-Z]", "", symbol.upper())
    for suffix in ("USDT", "USDC", "BUSD", "USD", "PERP"):
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)]
    return s.removesuffix("PERP") or symbol.upper()


def constant_funding(ts: np.ndarray, rate: float, interval_hours: float) -> tuple[np.ndarray, ...]:
    """Funding events every ``interval_hours`` on the UTC-midnight-aligned schedule, strictly
    after the first bar and not after the last one."""
    step = round(interval_hours * NS_PER_HOUR)
    first = (int(ts[0]) // step + 1) * step
    fts = np.arange(first, int(ts[-1]) + 1, step, dtype=np.int64)
    return fts, np.full(fts.shape[0], float(rate))


def _iv_series(iv, aligned_iv, iv_scale: float, ts: np.ndarray):
    """The IV to set: ``iv`` (a constant or per-bar array) when given, else the aligned series
    times ``iv_scale``, which must be known at every bar (errors name the first hole)."""
    if iv is not None:
        return iv
    series = np.asarray(aligned_iv, dtype=np.float64) * iv_scale
    if np.isnan(series).all():
        raise DataError(
            "no implied volatility: give an IV series (market.iv) or a constant "
            "(market.iv_constant)"
        )
    if np.isnan(series).any():
        i = int(np.argmax(np.isnan(series)))
        raise DataError(
            f"implied vol unknown at bar {i} "
            f"({np.datetime64(int(ts[i]), 'ns')}Z): the IV series has a hole"
        )
    return series


def market_from_aligned(
    aligned: AlignedMarket,
    instruments: Sequence[Instrument],
    *,
    iv: float | np.ndarray | None = None,
    iv_scale: float = 1.0,
    funding_constant: float | None = None,
    funding_interval_hours: float = 8.0,
    skew: float = 0.0,
    curvature: float = 0.0,
    meta: dict[str, Any] | None = None,
) -> Market:
    """One price path shared by ``instruments`` (e.g. the same perp on several venues).

    ``iv`` overrides the aligned IV series (a constant or an array per bar); otherwise the
    aligned series times ``iv_scale`` is used, and bars before its first value are an error.
    """
    aligned = _trim_leading_unknown_iv(aligned) if iv is None else aligned
    b = MarketBuilder(aligned.ts, meta={**(meta or {})})
    if funding_constant is not None:
        fts, frate = constant_funding(aligned.ts, funding_constant, funding_interval_hours)
    else:
        fts, frate = aligned.funding_ts, aligned.funding_rate
    for inst in instruments:
        kwargs: dict[str, Any] = {}
        if inst.kind != "spot":
            kwargs = {
                "funding_ts": fts,
                "funding_rate": frate,
                "funding_interval_hours": funding_interval_hours,
            }
        b.add_instrument(
            inst,
            aligned.close,
            open=aligned.open,
            high=aligned.high,
            low=aligned.low,
            volume=aligned.volume,
            mark=aligned.mark,
            index=aligned.index,
            **kwargs,
        )
    unds = dict.fromkeys(i.underlying for i in instruments)
    for u in unds:
        b.set_iv(
            u, _iv_series(iv, aligned.iv, iv_scale, aligned.ts), skew=skew, curvature=curvature
        )
    m = b.build()
    for key in ("bars_dropped_before_first_iv", "bar_seconds", "funding_events"):
        if key in aligned.meta:
            m.meta[key] = aligned.meta[key]
    fb = dict(m.fallbacks)
    for k, v in aligned.meta.get("fallbacks", {}).items():
        fb[f"aligned.{k}"] = tuple(v) if isinstance(v, list | tuple) else (str(v),)
    object.__setattr__(m, "fallbacks", fb)
    return m


@dataclass(frozen=True)
class SeriesLeg:
    """One instrument of :func:`market_from_multi` and where its prices and funding come from.

    ``prices``: ``None`` - the main series; an :class:`AlignedMarket` - its own bars, taken as
    of each main bar (the last bar closed at or before it, no look-ahead); a 1-d array - its
    close per main bar (one value per bar of the main series, e.g. a synthetic path).
    ``funding``: ``"main"`` - the main series' funding (or ``funding_constant`` of
    :func:`market_from_multi`); ``None`` - no funding; a float - a constant rate per interval on
    the UTC-midnight-aligned schedule; ``(ts_ns, rate)`` - events (those within the bars are
    kept). Spot instruments never get funding. ``funding_interval_hours`` ``None``: the main
    one. ``source`` names the prices in errors and in ``meta["instrument_prices"]`` (a file).
    """

    instrument: Instrument
    prices: AlignedMarket | np.ndarray | None = None
    funding: Literal["main"] | float | tuple[np.ndarray, np.ndarray] | None = "main"
    funding_interval_hours: float | None = None
    source: str = ""


def market_from_multi(
    main: AlignedMarket,
    legs: Sequence[SeriesLeg],
    *,
    iv: float | np.ndarray | None = None,
    iv_scale: float = 1.0,
    iv_underlyings: Sequence[str] = (),
    funding_constant: float | None = None,
    funding_interval_hours: float = 8.0,
    skew: float = 0.0,
    curvature: float = 0.0,
    meta: dict[str, Any] | None = None,
) -> Market:
    """Several price series on the main series' bars (see :class:`SeriesLeg`).

    The market keeps the main series' timestamps where every leg's own series has data: bars
    before the last series starts or after the first one ends are dropped (their count is
    ``meta["bars_outside_common_span"]``), and a series that overlaps the main one in fewer
    than 2 bars, or has a hole inside the common span (no bar closing within its bar length
    before a main bar), is a :class:`DataError` naming its source. Implied vol (the main
    series', or ``iv``) is set only for ``iv_underlyings`` - the underlyings options are written
    on; like :func:`market_from_aligned`, bars before the IV series is first known are dropped
    then. With one leg sharing the main series this gives the same market as
    :func:`market_from_aligned`.
    """
    n = main.n_bars
    lo, hi = 0, n
    dropped_iv = 0
    if iv is None and iv_underlyings:
        main_iv = np.asarray(main.iv, dtype=np.float64)
        if np.isnan(main_iv[0]) and not np.isnan(main_iv).all():
            dropped_iv = int(np.argmax(~np.isnan(main_iv)))
            if n - dropped_iv < 2:
                raise DataError(
                    "implied vol becomes known only at the last bar: no bars left to run"
                )
            lo = dropped_iv
    for leg in legs:
        p = leg.prices
        if isinstance(p, AlignedMarket):
            if p.n_bars == 0:
                raise DataError(f"{_leg_name(leg)}: no bars")
            a = int(np.searchsorted(main.ts, p.ts[0], side="left"))
            b = int(np.searchsorted(main.ts, p.ts[-1], side="right"))
            if min(hi, b) - max(lo, a) < 2:
                raise DataError(
                    f"{_leg_name(leg)}: its bars ({_iso(p.ts[0])} .. {_iso(p.ts[-1])}) overlap "
                    f"the main series ({_iso(main.ts[0])} .. {_iso(main.ts[-1])}) in fewer "
                    "than 2 bars"
                )
            lo, hi = max(lo, a), min(hi, b)
        elif p is not None and np.asarray(p).shape != (n,):
            raise DataError(
                f"{_leg_name(leg)}: expected one close per main bar ({n}), got shape "
                f"{np.asarray(p).shape}"
            )
    outside = (n - dropped_iv) - (hi - lo)
    base = _slice_aligned(main, lo, hi)
    ts = base.ts
    b = MarketBuilder(ts, meta={**(meta or {})})
    if funding_constant is not None:
        main_fts, main_frate = constant_funding(ts, funding_constant, funding_interval_hours)
    else:
        main_fts, main_frate = base.funding_ts, base.funding_rate
    sources: dict[str, str] = {}
    for leg in legs:
        inst = leg.instrument
        if leg.prices is None:
            label = "main series"
        elif isinstance(leg.prices, AlignedMarket):
            label = Path(leg.source).name or "own series"  # a file: its name, not where it is
        else:
            label = leg.source or "own series"
        sources[f"{inst.venue}:{inst.name}"] = label
        cols = _leg_prices(leg, base, lo, hi)
        kwargs: dict[str, Any] = {}
        if inst.kind != "spot" and leg.funding is not None:
            fint = (
                funding_interval_hours
                if leg.funding_interval_hours is None
                else float(leg.funding_interval_hours)
            )
            if isinstance(leg.funding, str):
                if leg.funding != "main":
                    raise DataError(f"{_leg_name(leg)}: unknown funding {leg.funding!r}")
                fts, frate = main_fts, main_frate
            elif isinstance(leg.funding, tuple):
                fts = np.asarray(leg.funding[0], dtype=np.int64)
                frate = np.asarray(leg.funding[1], dtype=np.float64)
                keep = (fts >= ts[0]) & (fts <= ts[-1])
                fts, frate = fts[keep], frate[keep]
            else:
                fts, frate = constant_funding(ts, float(leg.funding), fint)
            kwargs = {"funding_ts": fts, "funding_rate": frate, "funding_interval_hours": fint}
        b.add_instrument(inst, cols.pop("close"), **cols, **kwargs)
    for u in dict.fromkeys(iv_underlyings):
        b.set_iv(u, _iv_series(iv, base.iv, iv_scale, ts), skew=skew, curvature=curvature)
    m = b.build()
    for key in ("bar_seconds", "funding_events"):
        if key in main.meta:
            m.meta[key] = main.meta[key]
    if dropped_iv:
        m.meta["bars_dropped_before_first_iv"] = dropped_iv
    if outside:
        m.meta["bars_outside_common_span"] = outside
    m.meta["instrument_prices"] = sources
    fb = dict(m.fallbacks)
    for k, v in main.meta.get("fallbacks", {}).items():
        fb[f"aligned.{k}"] = tuple(v) if isinstance(v, list | tuple) else (str(v),)
    object.__setattr__(m, "fallbacks", fb)
    return m


def _leg_name(leg: SeriesLeg) -> str:
    return leg.source or f"{leg.instrument.venue}:{leg.instrument.name}"


def _slice_aligned(aligned: AlignedMarket, lo: int, hi: int) -> AlignedMarket:
    """Bars ``lo:hi`` of ``aligned`` with the funding events inside them."""
    if (lo, hi) == (0, aligned.n_bars):
        return aligned
    keep = slice(lo, hi)
    ts = aligned.ts[keep]
    fmask = (aligned.funding_ts >= ts[0]) & (aligned.funding_ts <= ts[-1])
    return AlignedMarket(
        ts=ts,
        open=aligned.open[keep],
        high=aligned.high[keep],
        low=aligned.low[keep],
        close=aligned.close[keep],
        volume=aligned.volume[keep],
        mark=aligned.mark[keep],
        index=aligned.index[keep],
        funding_ts=aligned.funding_ts[fmask],
        funding_rate=aligned.funding_rate[fmask],
        funding_bar=aligned.funding_bar[fmask] - lo,
        iv=np.asarray(aligned.iv)[keep],
        bar_seconds=aligned.bar_seconds,
        meta=dict(aligned.meta),
    )


def _leg_prices(leg: SeriesLeg, base: AlignedMarket, lo: int, hi: int) -> dict[str, Any]:
    """Close (and what else is known) of one leg on the bars of ``base``."""
    p = leg.prices
    if p is None:
        return {
            "close": base.close,
            "open": base.open,
            "high": base.high,
            "low": base.low,
            "volume": base.volume,
            "mark": base.mark,
            "index": base.index,
        }
    if not isinstance(p, AlignedMarket):
        return {"close": np.asarray(p, dtype=np.float64)[lo:hi]}
    ts = base.ts
    j = np.searchsorted(p.ts, ts, side="right") - 1
    stale = ts - p.ts[np.maximum(j, 0)]
    bar_ns = max(int(p.bar_seconds), 1) * 10**9
    bad = (j < 0) | (stale >= bar_ns)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{_leg_name(leg)}: no bar closing within {p.bar_seconds} s before "
            f"{_iso(ts[i])} (bar {i} of the run): the series has a hole there; fill it "
            '(market.gap_policy = "ffill") or use another file'
        )
    cols: dict[str, Any] = {"close": p.close[j], "mark": p.mark[j], "index": p.index[j]}
    if np.array_equal(p.ts[j], ts):  # same bars: the whole candle applies
        cols.update(open=p.open[j], high=p.high[j], low=p.low[j], volume=p.volume[j])
    return cols


def _iso(ns: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s")) + "Z"


def _trim_leading_unknown_iv(aligned: AlignedMarket) -> AlignedMarket:
    """Drop the first bars at which no implied vol is known yet (no look-ahead: the IV series
    may become known only after the first bars). Records how many were dropped in ``meta``."""
    iv = np.asarray(aligned.iv, dtype=np.float64)
    if not np.isnan(iv[0]) or np.isnan(iv).all():
        return aligned
    first = int(np.argmax(~np.isnan(iv)))
    if aligned.n_bars - first < 2:
        raise DataError("implied vol becomes known only at the last bar: no bars left to run")
    out = _slice_aligned(aligned, first, aligned.n_bars)
    out.meta["bars_dropped_before_first_iv"] = first
    return out


def market_from_series(
    ohlcv: Series,
    instruments: Sequence[Instrument],
    funding: Series | None = None,
    iv_series: Series | None = None,
    **kwargs: Any,
) -> Market:
    """Align canonical series and build a :class:`Market` (see :func:`market_from_aligned`)."""
    return market_from_aligned(align(ohlcv, funding, iv_series), instruments, **kwargs)


def _asof(src_ts: np.ndarray, values: np.ndarray, ts: np.ndarray, fallback: np.ndarray):
    """Last ``values`` known at or before each ``ts`` (``fallback`` before the first one)."""
    j = np.searchsorted(src_ts, ts, side="right") - 1
    out = np.where(j >= 0, values[np.maximum(j, 0)], fallback)
    return out.astype(np.float64)


def market_from_trades(
    trades: Series,
    instrument: Instrument,
    *,
    quotes: Series | None = None,
    mark: Series | None = None,
    iv: float | np.ndarray | None = None,
    funding_ts: np.ndarray | None = None,
    funding_rate: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
) -> Market:
    """A tick-level :class:`Market`: one step per distinct trade timestamp.

    Ticks use the same model as bars: trades sharing a timestamp collapse into one step (close
    = last price, high/low = extremes, volume = summed quantity); ``local_ts`` (when the trader
    received the step, from the capture's receive clock) is the latest receive time of the
    step's trades, so order latency is measured from when the trader could have seen it.
    Quotes give the spread and the mark stream the mark/index, both as of each step (no
    look-ahead; the close before the first value, recorded as a fallback).
    """
    f = trades.frame
    if len(f) < 2:
        raise DataError(f"{trades.source or trades.key}: need at least 2 trades")
    ts_all = np.asarray(f.index.as_unit("ns").asi8, dtype=np.int64)
    price = f["price"].to_numpy(np.float64)
    qty = f["qty"].to_numpy(np.float64)
    ts, first = np.unique(ts_all, return_index=True)
    last = np.append(first[1:], ts_all.shape[0]) - 1
    close = price[last]
    high = np.maximum.reduceat(price, first)
    low = np.minimum.reduceat(price, first)
    volume = np.add.reduceat(qty, first)
    if "local_ts" in f.columns:
        seen = np.maximum.reduceat(f["local_ts"].to_numpy(np.int64), first)
        seen = np.maximum(seen, ts)  # a step cannot be seen before it happened
    else:
        seen = ts
    b = MarketBuilder(ts, local_ts=seen, meta={"source": trades.source, **(meta or {})})
    kwargs: dict[str, Any] = {}
    if quotes is not None:
        q = quotes.frame
        qts = np.asarray(q.index.as_unit("ns").asi8, dtype=np.int64)
        sp = (q["ask"] - q["bid"]).to_numpy(np.float64)
        kwargs["spread"] = np.maximum(_asof(qts, sp, ts, np.full(ts.shape[0], np.nan)), 0.0)
    if mark is not None:
        mf = mark.frame
        mts = np.asarray(mf.index.as_unit("ns").asi8, dtype=np.int64)
        kwargs["mark"] = _asof(mts, mf["mark"].to_numpy(np.float64), ts, close)
        if "index" in mf.columns:
            kwargs["index"] = _asof(mts, mf["index"].to_numpy(np.float64), ts, close)
    if funding_rate is not None:
        kwargs["funding_ts"] = funding_ts
        kwargs["funding_rate"] = funding_rate
    b.add_instrument(
        instrument,
        close,
        open=None,
        high=np.maximum(high, close),
        low=np.minimum(low, close),
        volume=volume,
        **kwargs,
    )
    if iv is not None:
        b.set_iv(instrument.underlying, iv)
    return b.build()
