"""Build the engine's :class:`Market` from aligned data or from an experiment config.

Synthetic and file-based markets take the same path: canonical ``Series`` ->
:func:`gammaperp.data.resample.align` (bars on their close time, funding mapped to bars, IV as
of each bar without look-ahead) -> :class:`MarketBuilder` (validation) -> :class:`Market`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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
        if iv is not None:
            series = iv
        else:
            series = np.asarray(aligned.iv, dtype=np.float64) * iv_scale
            if np.isnan(series).all():
                raise DataError(
                    "no implied volatility: give an IV series (market.iv) or a constant "
                    "(market.iv_constant)"
                )
            if np.isnan(series).any():
                i = int(np.argmax(np.isnan(series)))
                raise DataError(
                    f"implied vol unknown at bar {i} "
                    f"({np.datetime64(int(aligned.ts[i]), 'ns')}Z): the IV series has a hole"
                )
        b.set_iv(u, series, skew=skew, curvature=curvature)
    m = b.build()
    for key in ("bars_dropped_before_first_iv", "bar_seconds", "funding_events"):
        if key in aligned.meta:
            m.meta[key] = aligned.meta[key]
    fb = dict(m.fallbacks)
    for k, v in aligned.meta.get("fallbacks", {}).items():
        fb[f"aligned.{k}"] = tuple(v) if isinstance(v, list | tuple) else (str(v),)
    object.__setattr__(m, "fallbacks", fb)
    return m


def _trim_leading_unknown_iv(aligned: AlignedMarket) -> AlignedMarket:
    """Drop the first bars at which no implied vol is known yet (no look-ahead: the IV series
    may become known only after the first bars). Records how many were dropped in ``meta``."""
    iv = np.asarray(aligned.iv, dtype=np.float64)
    if not np.isnan(iv[0]) or np.isnan(iv).all():
        return aligned
    first = int(np.argmax(~np.isnan(iv)))
    if aligned.n_bars - first < 2:
        raise DataError("implied vol becomes known only at the last bar: no bars left to run")
    keep = slice(first, None)
    fmask = aligned.funding_ts >= aligned.ts[first]
    meta = dict(aligned.meta)
    meta["bars_dropped_before_first_iv"] = first
    return AlignedMarket(
        ts=aligned.ts[keep],
        open=aligned.open[keep],
        high=aligned.high[keep],
        low=aligned.low[keep],
        close=aligned.close[keep],
        volume=aligned.volume[keep],
        mark=aligned.mark[keep],
        index=aligned.index[keep],
        funding_ts=aligned.funding_ts[fmask],
        funding_rate=aligned.funding_rate[fmask],
        funding_bar=aligned.funding_bar[fmask] - first,
        iv=iv[keep],
        bar_seconds=aligned.bar_seconds,
        meta=meta,
    )


def market_from_series(
    ohlcv: Series,
    instruments: Sequence[Instrument],
    funding: Series | None = None,
    iv_series: Series | None = None,
    **kwargs: Any,
) -> Market:
    """Align canonical series and build a :class:`Market` (see :func:`market_from_aligned`)."""
    return market_from_aligned(align(ohlcv, funding, iv_series), instruments, **kwargs)
