"""Resampling and alignment of canonical :class:`~gammaperp.data.frames.Series`.

* :func:`ticks_to_bars` - trades -> OHLCV bars of N seconds (``open, high, low, close, volume,
  n_trades, vwap``); empty intervals produce no bar unless ``fill=True``.
* :func:`resample_ohlcv` - OHLCV -> coarser OHLCV (first/max/min/last/sum), labelled by the bar
  **open** time; only complete bars unless ``partial=True``.
* :func:`align` - bars + funding + implied vol -> :class:`AlignedMarket`, flat numpy arrays on
  the bars' **close** times.

Conventions (see ``docs/data-store.md``):

* All timestamps are int64 nanoseconds since the Unix epoch, UTC. Bars are aligned to the epoch
  (so 1h bars start on the hour, 1d bars at 00:00 UTC).
* ``AlignedMarket.ts`` is the bar **close** time = open time + bar length: the first moment the
  bar's close price is known.
* Funding events are kept when ``ts[0] <= t <= ts[-1]``; ``funding_bar[j]`` is the first bar whose
  close time is at or after the event.
* IV is taken *as of* each bar close, using only values already known then. A value stamped at
  the start of an interval (daily DVOL is stamped at 00:00 of its day and its ``iv`` is the day's
  close) only becomes known at the end of that interval, so a bar on day D sees the close of day
  D-1: no look-ahead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.errors import DataError

__all__ = [
    "NS",
    "AlignedMarket",
    "align",
    "bar_label",
    "bar_seconds_of",
    "fingerprint",
    "infer_bar_seconds",
    "parse_bar",
    "resample_ohlcv",
    "ticks_to_bars",
]

NS = 1_000_000_000
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_ALIASES = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "t": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
}
_BAR_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")

# Columns summed when bars are merged; every other extra column takes the last value.
_SUM_COLUMNS = (
    "volume",
    "quote_volume",
    "n_trades",
    "taker_buy_volume",
    "taker_buy_quote_volume",
)


# --------------------------------------------------------------------------- bar sizes


def parse_bar(bar: str | int | float | pd.Timedelta) -> int:
    """A bar size as whole seconds: ``"1m"`` -> 60, ``"4h"`` -> 14400, ``300`` -> 300.

    Accepts ``<n><unit>`` with unit s/m/h/d/w (and long forms like ``min``, ``hour``), a
    positive number of seconds, or a ``pd.Timedelta``. Months (``"1M"``) are not bars of fixed
    length and are rejected.
    """
    if isinstance(bar, bool):
        raise ValueError(f"bar size must be like '1m', '5m', '1h' or seconds, got {bar!r}")
    if isinstance(bar, pd.Timedelta):
        secs = bar.total_seconds()
    elif isinstance(bar, int | float | np.integer | np.floating):
        secs = float(bar)
    elif isinstance(bar, str):
        m = _BAR_RE.match(bar)
        if not m:
            raise ValueError(
                f"bar size {bar!r} is not understood: use e.g. '30s', '1m', '5m', '1h', '1d'"
            )
        n, unit = int(m.group(1)), m.group(2)
        if unit == "M":
            raise ValueError(f"bar size {bar!r}: months have no fixed length; use '30d'")
        key = _UNIT_ALIASES.get(unit.lower())
        if key is None:
            raise ValueError(f"bar size {bar!r}: unknown unit {unit!r} (use s, m, h, d or w)")
        secs = float(n * _UNIT_SECONDS[key])
    else:
        raise ValueError(f"bar size must be like '1m', '5m', '1h' or seconds, got {bar!r}")
    if not np.isfinite(secs) or secs <= 0 or secs != int(secs):
        raise ValueError(f"bar size must be a positive whole number of seconds, got {bar!r}")
    return int(secs)


def bar_label(seconds: int) -> str:
    """The short label of a bar size: 60 -> ``"1m"``, 3600 -> ``"1h"``, 90 -> ``"90s"``."""
    seconds = int(seconds)
    if seconds <= 0:
        raise ValueError(f"bar size must be positive, got {seconds}")
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def bar_words(seconds: int) -> str:
    """Human form used in messages: 60 -> ``"1-minute"``, 300 -> ``"5-minute"``, 3600 ->
    ``"1-hour"``."""
    label = bar_label(seconds)
    n, unit = label[:-1], label[-1]
    word = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}[unit]
    return f"{n}-{word}"


def infer_bar_seconds(ts_ns: np.ndarray) -> int | None:
    """The most common spacing of ``ts_ns`` in whole seconds (``None`` with < 2 rows)."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if ts_ns.shape[0] < 2:
        return None
    d = np.diff(ts_ns[: min(ts_ns.shape[0], 200_000)])
    d = d[d > 0]
    if d.size == 0:
        return None
    values, counts = np.unique(d, return_counts=True)
    mode = int(values[np.argmax(counts)])
    secs = round(mode / NS)
    return secs if secs > 0 else None


def bar_seconds_of(series: Series) -> int | None:
    """``meta["bar_seconds"]`` if set, else the spacing inferred from the index."""
    b = series.meta.get("bar_seconds")
    if b is not None:
        return parse_bar(b)
    return infer_bar_seconds(ts_ns(series.frame))


# --------------------------------------------------------------------------- helpers


def ts_ns(frame: pd.DataFrame) -> np.ndarray:
    """The frame's ``ts`` index as int64 ns UTC (naive indexes are rejected)."""
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(f"frame index must be a DatetimeIndex named 'ts', got {type(idx).__name__}")
    if idx.tz is None:
        raise DataError("frame index must be timezone-aware UTC, got naive timestamps")
    return np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def index_from_ns(values: np.ndarray) -> pd.DatetimeIndex:
    """int64 ns -> ``DatetimeIndex`` (UTC, ns, named ``ts``)."""
    return pd.DatetimeIndex(
        pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True), name="ts"
    ).as_unit("ns")


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(frame[name].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _require_kind(series: Series, kind: str, what: str) -> None:
    if series.kind != kind:
        raise ValueError(f"{what}: expected a {kind!r} series, got {series.kind!r} ({series.key})")


def _strictly_increasing(ts: np.ndarray, key: str) -> None:
    if ts.shape[0] > 1:
        d = np.diff(ts)
        if (d <= 0).any():
            i = int(np.argmax(d <= 0)) + 1
            what = "duplicate" if d[i - 1] == 0 else "unsorted"
            stamp = pd.Timestamp(int(ts[i]), unit="ns", tz="UTC")
            raise DataError(f"{key}: row {i}: {what} timestamp {stamp}")


def fingerprint(series: Series) -> str:
    """A short content hash of a series: key, timestamps and numeric columns (blake2b-128)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(series.key.encode())
    frame = series.frame
    h.update(np.ascontiguousarray(ts_ns(frame)).tobytes())
    for name in sorted(map(str, frame.columns)):
        col = frame[name]
        h.update(name.encode())
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            h.update("\x1f".join(map(str, col.tolist())).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- ticks -> bars


def ticks_to_bars(trades: Series, bar: str | int, *, fill: bool = False) -> Series:
    """Aggregate a ``trades`` series into OHLCV bars of ``bar`` (e.g. ``"1m"``, 60).

    Columns: ``open, high, low, close, volume, n_trades, vwap`` (float64), labelled by the bar
    open time. ``volume`` is the summed ``qty``; ``vwap`` = sum(price*qty) / sum(qty) (the close
    when the volume is 0). Intervals without trades produce no bar; with ``fill=True`` every
    interval between the first and the last bar is present, the empty ones with the previous
    close in open/high/low/close/vwap, volume 0, and a boolean column ``synthetic`` that is True
    exactly for them.
    """
    _require_kind(trades, "trades", "ticks_to_bars")
    b = parse_bar(bar)
    bns = b * NS
    frame = trades.frame
    t = ts_ns(frame)
    price = _col(frame, "price")
    qty = _col(frame, "qty")
    if t.shape[0] > 1 and (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, price, qty = t[order], price[order], qty[order]
    n = t.shape[0]
    meta = {
        **{k: v for k, v in trades.meta.items() if k not in ("bar_seconds",)},
        "bar_seconds": b,
        "resampled_from": trades.key,
    }
    cols = ("open", "high", "low", "close", "volume", "n_trades", "vwap")
    if n == 0:
        empty = pd.DataFrame({c: np.zeros(0) for c in cols}, index=index_from_ns(np.zeros(0)))
        if fill:
            empty["synthetic"] = np.zeros(0, dtype=bool)
        return Series(
            "ohlcv", trades.venue, trades.symbol, trades.market, empty, trades.source, meta
        )
    bucket = t // bns
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], n]
    o = price[starts]
    c = price[ends - 1]
    h = np.maximum.reduceat(price, starts)
    lo = np.minimum.reduceat(price, starts)
    v = np.add.reduceat(qty, starts)
    notional = np.add.reduceat(price * qty, starts)
    cnt = (ends - starts).astype(np.float64)
    vwap = np.divide(notional, v, out=c.copy(), where=v > 0)
    open_ts = bucket[starts] * bns
    data = {"open": o, "high": h, "low": lo, "close": c, "volume": v, "n_trades": cnt, "vwap": vwap}
    if fill:
        k = int((open_ts[-1] - open_ts[0]) // bns) + 1
        pos = (open_ts - open_ts[0]) // bns
        present = np.zeros(k, dtype=bool)
        present[pos] = True
        full_close = np.empty(k)
        full_close[pos] = c
        last = np.maximum.accumulate(np.where(present, np.arange(k), 0))
        carried = full_close[last]
        filled = {}
        for name, arr in data.items():
            out = np.zeros(k) if name in ("volume", "n_trades") else carried.copy()
            out[pos] = arr
            filled[name] = out
        data = filled
        open_ts = open_ts[0] + np.arange(k, dtype=np.int64) * bns
        data["synthetic"] = ~present
    out = pd.DataFrame(data, index=index_from_ns(open_ts))
    return Series("ohlcv", trades.venue, trades.symbol, trades.market, out, trades.source, meta)


# --------------------------------------------------------------------------- bars -> bars


def resample_ohlcv(ohlcv: Series, bar: str | int, *, partial: bool = False) -> Series:
    """Merge OHLCV bars into coarser bars of ``bar`` (a whole multiple of the source bar).

    open = first, high = max, low = min, close = last, volume (and ``quote_volume``,
    ``n_trades``, taker volumes) = sum, ``vwap`` = volume-weighted, ``synthetic`` = all
    synthetic; every other column takes its last value. The label is the bar **open** time,
    aligned to the epoch (1h bars start on the hour). A bar is *complete* when all of its
    source bars are present; incomplete bars (at the edges, or around gaps) are dropped unless
    ``partial=True``, which keeps them and adds a boolean ``complete`` column.
    """
    _require_kind(ohlcv, "ohlcv", "resample_ohlcv")
    src = bar_seconds_of(ohlcv)
    tgt = parse_bar(bar)
    if src is None:
        raise DataError(f"{ohlcv.key}: cannot tell the bar size of a series with < 2 rows")
    if tgt % src:
        raise ValueError(
            f"cannot resample {bar_label(src)} bars to {bar_label(tgt)}: the target must be a "
            f"whole multiple of the source bar"
        )
    frame = ohlcv.frame
    t = ts_ns(frame)
    _strictly_increasing(t, ohlcv.key)
    meta = {**ohlcv.meta, "bar_seconds": tgt}
    if tgt != src:
        meta["resampled_from"] = f"{ohlcv.key}:{bar_label(src)}"
    ratio = tgt // src
    if t.shape[0] == 0:
        return Series(
            "ohlcv", ohlcv.venue, ohlcv.symbol, ohlcv.market, frame.copy(), ohlcv.source, meta
        )
    bucket = t // (tgt * NS)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], t.shape[0]]
    counts = ends - starts
    keep = slice(None) if partial else counts == ratio
    data: dict[str, Any] = {}
    vol = _col(frame, "volume") if "volume" in frame.columns else None
    for name in frame.columns:
        col = frame[name]
        if name == "open":
            data[name] = _col(frame, name)[starts]
        elif name == "high":
            data[name] = np.maximum.reduceat(_col(frame, name), starts)
        elif name == "low":
            data[name] = np.minimum.reduceat(_col(frame, name), starts)
        elif name in _SUM_COLUMNS:
            data[name] = np.add.reduceat(_col(frame, name), starts)
        elif name == "vwap" and vol is not None:
            num = np.add.reduceat(_col(frame, name) * vol, starts)
            den = np.add.reduceat(vol, starts)
            fallback = _col(frame, name)[ends - 1]
            data[name] = np.divide(num, den, out=fallback, where=den > 0)
        elif name == "synthetic":
            data[name] = np.logical_and.reduceat(col.to_numpy(dtype=bool), starts)
        else:
            data[name] = col.to_numpy()[ends - 1]
    out = pd.DataFrame(data, index=index_from_ns(bucket[starts] * tgt * NS))
    if partial:
        out["complete"] = counts == ratio
    else:
        out = out.loc[keep]
    return Series("ohlcv", ohlcv.venue, ohlcv.symbol, ohlcv.market, out, ohlcv.source, meta)


# --------------------------------------------------------------------------- alignment


@dataclass(eq=False)
class AlignedMarket:
    """Bars, funding and implied vol of one instrument as flat numpy arrays.

    ``ts`` is the bar **close** time (open time + ``bar_seconds``) in int64 ns UTC; every
    per-bar array has the same length. ``funding_*`` hold the funding events with
    ``ts[0] <= funding_ts <= ts[-1]``; ``funding_bar[j]`` is the first bar whose close time is
    at or after ``funding_ts[j]``. ``iv`` is the last IV value known at each bar close (NaN
    before the first one, or everywhere without an IV series). ``meta`` records sources,
    fingerprints and which fields fell back to ``close``.
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    mark: np.ndarray
    index: np.ndarray
    funding_ts: np.ndarray
    funding_rate: np.ndarray
    funding_bar: np.ndarray
    iv: np.ndarray
    bar_seconds: int
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def n_bars(self) -> int:
        return int(self.ts.shape[0])

    @property
    def open_ts(self) -> np.ndarray:
        """Bar open times (int64 ns UTC) = ``ts - bar_seconds``."""
        return self.ts - self.bar_seconds * NS

    def to_frame(self) -> pd.DataFrame:
        """The per-bar arrays as a DataFrame indexed by close time (for inspection)."""
        return pd.DataFrame(
            {
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
                "mark": self.mark,
                "index": self.index,
                "iv": self.iv,
            },
            index=index_from_ns(self.ts),
        )


def _known_at(series: Series, value_col: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(time each value becomes known, values, lag seconds) for an as-of lookup.

    Bar-like series (OHLCV, anything with ``meta['bar_seconds']``, IV with open/high/low
    columns) are stamped at the interval start and known at its end.
    """
    frame = series.frame
    t = ts_ns(frame)
    vals = _col(frame, value_col)
    lag = 0
    b = series.meta.get("bar_seconds")
    if b is not None:
        lag = parse_bar(b)
    elif series.kind == "ohlcv" or any(
        c in frame.columns for c in ("iv_open", "iv_high", "iv_low")
    ):
        lag = infer_bar_seconds(t) or 0
    if t.shape[0] > 1 and (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, vals = t[order], vals[order]
    return t + lag * NS, vals, lag


def _asof(known: np.ndarray, vals: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Last value with ``known <= at`` (NaN where none)."""
    pos = np.searchsorted(known, at, side="right") - 1
    out = np.full(at.shape[0], np.nan)
    ok = pos >= 0
    out[ok] = vals[pos[ok]]
    return out


def _describe(series: Series) -> dict[str, Any]:
    return {"key": series.key, "source": series.source, "fingerprint": fingerprint(series)}


def _price_column(
    name: str,
    ohlcv: Series,
    other: Series | None,
    close_ts: np.ndarray,
    close: np.ndarray,
    meta: dict[str, Any],
) -> np.ndarray:
    frame = ohlcv.frame
    if other is not None:
        col = name if name in other.frame.columns else "close"
        if col not in other.frame.columns:
            raise ValueError(f"{name} series {other.key} has neither a {name!r} nor 'close' column")
        known, vals, _ = _known_at(other, col)
        arr = _asof(known, vals, close_ts)
        miss = ~np.isfinite(arr)
        meta["sources"][name] = _describe(other)
        if miss.any():
            arr[miss] = close[miss]
            meta["fallbacks"][name] = f"close for {int(miss.sum())} of {arr.shape[0]} bars"
        return arr
    if name in frame.columns:
        arr = _col(frame, name)
        miss = ~np.isfinite(arr)
        meta["sources"][name] = f"{ohlcv.key}.{name}"
        if miss.any():
            arr = arr.copy()
            arr[miss] = close[miss]
            meta["fallbacks"][name] = f"close for {int(miss.sum())} of {arr.shape[0]} bars"
        return arr
    meta["fallbacks"][name] = "close"
    return close.copy()


def align(
    ohlcv: Series,
    funding: Series | None = None,
    iv: Series | None = None,
    *,
    bar_seconds: int | str | None = None,
    mark: Series | None = None,
    index: Series | None = None,
) -> AlignedMarket:
    """Align bars, funding events and implied vol on the bars' close times.

    ``bar_seconds`` defaults to ``ohlcv.meta["bar_seconds"]``, else the most common spacing.
    ``mark``/``index`` come from the ``mark``/``index`` columns of ``ohlcv``, else from the
    optional ``mark``/``index`` series (as of each bar close), else equal ``close``; every
    fallback is listed in ``meta["fallbacks"]``.
    """
    _require_kind(ohlcv, "ohlcv", "align")
    if funding is not None:
        _require_kind(funding, "funding", "align(funding=...)")
    if iv is not None:
        _require_kind(iv, "iv", "align(iv=...)")
    b = parse_bar(bar_seconds) if bar_seconds is not None else bar_seconds_of(ohlcv)
    if b is None:
        raise DataError(f"{ohlcv.key}: cannot tell the bar size; pass bar_seconds=")
    frame = ohlcv.frame
    open_ts = ts_ns(frame)
    _strictly_increasing(open_ts, ohlcv.key)
    close_ts = open_ts + b * NS
    close = _col(frame, "close")
    meta: dict[str, Any] = {
        "bar_seconds": b,
        "ts": "bar close time = open time + bar_seconds",
        "sources": {"ohlcv": _describe(ohlcv)},
        "fallbacks": {},
    }
    cols = {}
    for name in ("open", "high", "low"):
        if name in frame.columns:
            cols[name] = _col(frame, name)
        else:
            cols[name] = close.copy()
            meta["fallbacks"][name] = "close"
    if "volume" in frame.columns:
        volume = _col(frame, "volume")
    else:
        volume = np.full(close.shape[0], np.nan)
        meta["fallbacks"]["volume"] = "NaN"
    mark_arr = _price_column("mark", ohlcv, mark, close_ts, close, meta)
    index_arr = _price_column("index", ohlcv, index, close_ts, close, meta)

    f_ts = np.zeros(0, dtype=np.int64)
    f_rate = np.zeros(0, dtype=np.float64)
    if funding is not None and close_ts.shape[0]:
        ft = ts_ns(funding.frame)
        fr = _col(funding.frame, "rate")
        if ft.shape[0] > 1 and (np.diff(ft) < 0).any():
            order = np.argsort(ft, kind="stable")
            ft, fr = ft[order], fr[order]
        lo = np.searchsorted(ft, close_ts[0], side="left")
        hi = np.searchsorted(ft, close_ts[-1], side="right")
        f_ts, f_rate = ft[lo:hi].copy(), fr[lo:hi].copy()
        meta["sources"]["funding"] = _describe(funding)
        meta["funding_events"] = int(f_ts.shape[0])
        if "interval_hours" in funding.meta:
            meta["funding_interval_hours"] = funding.meta["interval_hours"]
    elif funding is None:
        meta["fallbacks"]["funding"] = "none"
    f_bar = np.searchsorted(close_ts, f_ts, side="left").astype(np.int64)

    if iv is not None:
        known, vals, lag = _known_at(iv, "iv")
        iv_arr = _asof(known, vals, close_ts)
        meta["sources"]["iv"] = _describe(iv)
        meta["iv_known_after_seconds"] = lag
        missing = int((~np.isfinite(iv_arr)).sum())
        if missing:
            meta["iv_missing_bars"] = missing
    else:
        iv_arr = np.full(close_ts.shape[0], np.nan)
        meta["fallbacks"]["iv"] = "none"
    return AlignedMarket(
        ts=close_ts,
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=close,
        volume=volume,
        mark=mark_arr,
        index=index_arr,
        funding_ts=f_ts,
        funding_rate=f_rate,
        funding_bar=f_bar,
        iv=iv_arr,
        bar_seconds=b,
        meta=meta,
    )
